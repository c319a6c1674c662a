/* Mosquitto ACL file parsing and checking: per-user, anonymous and pattern rule lists with
 * deny rules first, %c/%u substitution, Mosquitto 2's READ/WRITE evaluation order, and a
 * filter overlap/cover test for SUBSCRIBE. No reloading logic (the caller swaps ACLs). */
#include "acl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "codec.h"
#include "err.h"
#include "mem.h"

#define SUBST_STACK 512

struct acl_rule {
    char *filter;
    unsigned access; /* mask of ACL_READ | ACL_WRITE; 0 = deny */
};

struct rule_list {
    struct acl_rule *v;
    size_t n;
};

struct acl_user {
    char *name;
    struct rule_list rules;
};

struct acl {
    struct rule_list anon;
    struct acl_user *users; /* sorted by name after load */
    size_t nusers;
    struct rule_list patterns;
};

/* ---- loading ---- */

static int list_add(struct rule_list *l, const char *filter, unsigned access)
{
    struct acl_rule *grown = mem_realloc(l->v, (l->n + 1) * sizeof *grown);
    if (grown == NULL)
        return TERN_ENOMEM;
    l->v = grown;
    char *copy = mem_strdup(filter);
    if (copy == NULL)
        return TERN_ENOMEM;
    /* Deny rules go first so they are seen before any grant, as in Mosquitto. */
    size_t at = l->n;
    if (access == 0) {
        at = 0;
        while (at < l->n && l->v[at].access == 0)
            at++;
        memmove(&l->v[at + 1], &l->v[at], (l->n - at) * sizeof l->v[0]);
    }
    l->v[at].filter = copy;
    l->v[at].access = access;
    l->n++;
    return 0;
}

static void list_free(struct rule_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        mem_free(l->v[i].filter);
    mem_free(l->v);
}

static struct acl_user *user_get(struct acl *acl, const char *name)
{
    for (size_t i = 0; i < acl->nusers; i++)
        if (strcmp(acl->users[i].name, name) == 0)
            return &acl->users[i];
    struct acl_user *grown = mem_realloc(acl->users, (acl->nusers + 1) * sizeof *grown);
    if (grown == NULL)
        return NULL;
    acl->users = grown;
    struct acl_user *u = &acl->users[acl->nusers];
    memset(u, 0, sizeof *u);
    u->name = mem_strdup(name);
    if (u->name == NULL)
        return NULL;
    acl->nusers++;
    return u;
}

static char *skip_space(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Splits "[access] FILTER"; returns the filter or NULL with *why set. */
static char *parse_access(char *rest, unsigned *access, const char **why)
{
    static const struct {
        const char *word;
        unsigned access;
    } words[] = {
        {"read", ACL_READ}, {"write", ACL_WRITE}, {"readwrite", ACL_READ | ACL_WRITE}, {"deny", 0}};
    *access = ACL_READ | ACL_WRITE; /* no access word: readwrite */
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i].word);
        /* An access word alone ("topic deny") is a rule with its filter missing, as in
         * Mosquitto, never a grant on a topic named "deny". */
        if (strncmp(rest, words[i].word, n) == 0 &&
            (rest[n] == ' ' || rest[n] == '\t' || rest[n] == '\0')) {
            *access = words[i].access;
            rest = skip_space(rest + n);
            break;
        }
    }
    if (*rest == '\0') {
        *why = "missing topic filter";
        return NULL;
    }
    if (!codec_topic_filter_valid(bytes_str(rest))) {
        *why = "invalid topic filter";
        return NULL;
    }
    return rest;
}

/* Parses one non-blank line; *cur is the rule list "topic" lines go to. NULL or a reason. */
static const char *parse_line(struct acl *acl, char *line, struct rule_list **cur)
{
    char *word = skip_space(line);
    char *rest = word + strcspn(word, " \t");
    if (*rest != '\0')
        *rest++ = '\0';
    rest = skip_space(rest);
    const char *why = NULL;
    unsigned access = 0;
    if (strcmp(word, "user") == 0) {
        if (*rest == '\0')
            return "missing user name";
        struct acl_user *u = user_get(acl, rest);
        if (u == NULL)
            return "out of memory";
        *cur = &u->rules;
        return NULL;
    }
    bool pattern = strcmp(word, "pattern") == 0;
    if (!pattern && strcmp(word, "topic") != 0)
        return "unknown keyword (expected user, topic or pattern)";
    char *filter = parse_access(rest, &access, &why);
    if (filter == NULL)
        return why;
    if (list_add(pattern ? &acl->patterns : *cur, filter, access) != 0)
        return "out of memory";
    return NULL;
}

static int read_acl(struct acl *acl, FILE *f, const char *path, char *err, size_t errlen)
{
    char line[4096];
    unsigned lineno = 0;
    struct rule_list *cur = &acl->anon;
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                         line[n - 1] == '\t'))
            line[--n] = '\0';
        char *s = skip_space(line);
        if (*s == '\0' || *s == '#')
            continue;
        const char *why = parse_line(acl, s, &cur);
        if (why != NULL) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
            return strcmp(why, "out of memory") == 0 ? TERN_ENOMEM : TERN_ECONFIG;
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        return TERN_EIO;
    }
    return 0;
}

static int cmp_user(const void *a, const void *b)
{
    return strcmp(((const struct acl_user *)a)->name, ((const struct acl_user *)b)->name);
}

int acl_load(const char *path, struct acl **out, char *err, size_t errlen)
{
    char dummy[1];
    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return TERN_EIO;
    }
    struct acl *acl = mem_calloc(1, sizeof *acl);
    int rc = acl ? read_acl(acl, f, path, err, errlen) : TERN_ENOMEM;
    fclose(f);
    if (rc != 0)
        goto fail;
    if (acl->nusers > 1)
        qsort(acl->users, acl->nusers, sizeof acl->users[0], cmp_user);
    *out = acl;
    return 0;
fail:
    if (rc == TERN_ENOMEM && err[0] == '\0')
        snprintf(err, errlen, "%s: out of memory", path);
    acl_free(acl);
    return rc;
}

void acl_free(struct acl *acl)
{
    if (acl == NULL)
        return;
    list_free(&acl->anon);
    list_free(&acl->patterns);
    for (size_t i = 0; i < acl->nusers; i++) {
        mem_free(acl->users[i].name);
        list_free(&acl->users[i].rules);
    }
    mem_free(acl->users);
    mem_free(acl);
}

size_t acl_user_count(const struct acl *acl)
{
    return acl->nusers;
}

size_t acl_pattern_count(const struct acl *acl)
{
    return acl->patterns.n;
}

/* ---- filter relations for SUBSCRIBE ---- */

struct level {
    const char *p;
    size_t len;
    bool has;
};

/* Takes the next level of *s (NULL when the filter is exhausted). */
static struct level next_level(const char **s)
{
    struct level l = {NULL, 0, false};
    if (*s == NULL)
        return l;
    const char *slash = strchr(*s, '/');
    l.p = *s;
    l.len = slash ? (size_t)(slash - *s) : strlen(*s);
    l.has = true;
    *s = slash ? slash + 1 : NULL;
    return l;
}

static bool level_is(struct level l, char c)
{
    return l.has && l.len == 1 && l.p[0] == c;
}

static bool level_eq(struct level a, struct level b)
{
    return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

/* Whether some topic is matched by both filters. */
static bool filters_overlap(const char *rule, const char *sub)
{
    for (;;) {
        struct level r = next_level(&rule), s = next_level(&sub);
        if (!r.has && !s.has)
            return true;
        if (level_is(r, '#') || level_is(s, '#'))
            return true;
        if (!r.has || !s.has)
            return false;
        if (!level_is(r, '+') && !level_is(s, '+') && !level_eq(r, s))
            return false;
    }
}

/* Whether every topic matched by sub is matched by rule. */
static bool filter_covers(const char *rule, const char *sub)
{
    for (;;) {
        struct level r = next_level(&rule), s = next_level(&sub);
        if (!r.has && !s.has)
            return true;
        if (level_is(r, '#'))
            return true;
        if (!r.has || !s.has || level_is(s, '#'))
            return false;
        if (level_is(s, '+') ? !level_is(r, '+') : !level_is(r, '+') && !level_eq(r, s))
            return false;
    }
}

/* ---- checking ---- */

struct who {
    const char *client_id, *username;
};

/* Expands %c and %u of a pattern into buf (or a heap copy when it does not fit: *heap). NULL
 * when the pattern needs an identity the client lacks, or out of memory. */
static const char *substitute(const char *pat, const struct who *w, char *buf, char **heap)
{
    size_t need = 1;
    for (const char *p = pat; *p; p++) {
        if (p[0] == '%' && (p[1] == 'c' || p[1] == 'u')) {
            const char *v = p[1] == 'c' ? w->client_id : w->username;
            if (v == NULL)
                return NULL;
            need += strlen(v);
            p++;
        } else {
            need++;
        }
    }
    char *out = need <= SUBST_STACK ? buf : (*heap = mem_alloc(need));
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (const char *p = pat; *p; p++) {
        if (p[0] == '%' && (p[1] == 'c' || p[1] == 'u')) {
            const char *v = p[1] == 'c' ? w->client_id : w->username;
            memcpy(out + o, v, strlen(v));
            o += strlen(v);
            p++;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    return out;
}

/* One rule against topic (or filter, for SUBSCRIBE): 1 allow, -1 deny, 0 no say. */
static int rule_verdict(const char *filter, unsigned rule_access, const char *topic,
                        unsigned access)
{
    /* A topic starting with '$' is only matched by rules starting with '$' (Mosquitto). */
    if (topic[0] == '$' && filter[0] != '$')
        return 0;
    if (access == ACL_SUBSCRIBE) {
        /* A subscription starting with a wildcard never receives '$' topics [MQTT-4.7.2-1]. */
        if ((topic[0] == '+' || topic[0] == '#') && filter[0] == '$')
            return 0;
        if (rule_access == 0)
            return filter_covers(filter, topic) ? -1 : 0;
        return (rule_access & ACL_READ) && filters_overlap(filter, topic) ? 1 : 0;
    }
    if (!codec_topic_matches(bytes_str(filter), bytes_str(topic)))
        return 0;
    if (rule_access == 0)
        return -1;
    return (rule_access & access) ? 1 : 0;
}

static int list_verdict(const struct rule_list *l, const struct who *w, bool pattern,
                        const char *topic, unsigned access)
{
    for (size_t i = 0; i < l->n; i++) {
        char buf[SUBST_STACK];
        char *heap = NULL;
        const char *filter = pattern ? substitute(l->v[i].filter, w, buf, &heap) : l->v[i].filter;
        int v = filter ? rule_verdict(filter, l->v[i].access, topic, access) : 0;
        mem_free(heap);
        if (v != 0)
            return v;
    }
    return 0;
}

static const struct rule_list *rules_of(const struct acl *acl, const char *username)
{
    if (username == NULL)
        return &acl->anon;
    size_t lo = 0, hi = acl->nusers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(username, acl->users[mid].name);
        if (c == 0)
            return &acl->users[mid].rules;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static bool has_wildcard(const char *s)
{
    return s != NULL && (strchr(s, '+') != NULL || strchr(s, '#') != NULL);
}

bool acl_check(const struct acl *acl, const char *client_id, const char *username,
               const char *topic, enum acl_access access)
{
    if (acl == NULL || topic == NULL)
        return false;
    struct tern_bytes group, rest;
    if (access == ACL_SUBSCRIBE) {
        if (!codec_topic_filter_valid(bytes_str(topic)))
            return false;
        if (codec_topic_shared_split(bytes_str(topic), &group, &rest))
            topic = (const char *)rest.ptr; /* the rest runs to the end of topic */
    } else if (!codec_topic_name_valid(bytes_str(topic))) {
        return false;
    }
    const struct who w = {client_id, username};
    const struct rule_list *own = rules_of(acl, username);
    int v = own ? list_verdict(own, &w, false, topic, access) : 0;
    if (v != 0)
        return v > 0;
    /* A '+' or '#' in an identity would widen a pattern: such clients get no pattern rights. */
    if (acl->patterns.n == 0 || has_wildcard(client_id) || has_wildcard(username))
        return false;
    return list_verdict(&acl->patterns, &w, true, topic, access) > 0;
}
