/* Authentication beyond user name + password: MQTT 5 enhanced authentication with SCRAM
 * (CONNECT, then AUTH packets, and re-authentication later) and JWT logins whose claims can
 * replace the ACL file for that client. */
#ifndef TERN_BROKER_HANDLE_AUTH_H
#define TERN_BROKER_HANDLE_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "bytes.h"

struct conn;
struct msg;
struct mqtt_connect;
struct mqtt_packet;

/* What a CONNECT decided, kept while its AUTH exchange runs. */
struct pending_connect {
    char *id;
    bool clean;
    uint32_t expiry;
    struct msg *will;
    uint32_t will_delay;
};

/* Whether CONNECT's Authentication Method is one this listener offers (SCRAM). */
bool auth_method_offered(const struct conn *c, const struct mqtt_connect *ct);
/* Starts the SCRAM exchange for a CONNECT; pc is taken over. On 0 the connection waits in
 * CONN_AUTH; otherwise the reason code to refuse with (pc freed). */
uint8_t auth_start(struct conn *c, const struct mqtt_connect *ct, struct pending_connect *pc);
/* AUTH packets: continuing a CONNECT's exchange, or re-authentication [MQTT-4.12.1-1]. */
void handle_auth(struct conn *c, struct mqtt_packet *p);
/* JWT login: 1 when the password was a valid token (c->username and claims set), 0 when JWT
 * does not apply, or the reason code to refuse with (> 1). */
uint8_t auth_jwt(struct conn *c, const struct mqtt_connect *ct);
/* With JWT claims: whether they let c publish to topic / subscribe to filter. Without claims,
 * -1: the ACL file decides. */
int auth_claims_publish(const struct conn *c, struct tern_bytes topic);
int auth_claims_subscribe(const struct conn *c, struct tern_bytes filter);
/* Frees what a connection holds for authentication. */
void auth_conn_free(struct conn *c);

#endif
