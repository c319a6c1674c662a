/* The "tern" VFS shim: forwards every call to the default VFS; the file methods check one
 * atomic fault mode first (and, when a switch file is set, whether that file exists). Only
 * xWrite, xTruncate (disk full) and xSync (I/O error) can fail; reads, locks and shared memory
 * always pass through. */
#include "store_vfs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

/* The shim's file: our header, then the real VFS's file object. */
struct shim_file {
    sqlite3_file base;
    sqlite3_file *real;
};

static _Atomic int fail_mode;
/* When has_switch is set, the fault applies only while switch_path exists (a test can then
 * end a fault from outside the process). */
static _Atomic bool has_switch;
static pthread_mutex_t switch_mu = PTHREAD_MUTEX_INITIALIZER;
static char switch_path[4096]; /* guarded by switch_mu */
static sqlite3_vfs shim_vfs;
static pthread_once_t shim_once = PTHREAD_ONCE_INIT;
static int shim_ok;

#define REAL(f) (((struct shim_file *)(void *)(f))->real)

/* Whether the fault mode is on now. */
static bool failing(int mode)
{
    if (atomic_load(&fail_mode) != mode)
        return false;
    if (!atomic_load(&has_switch))
        return true;
    pthread_mutex_lock(&switch_mu);
    bool on = access(switch_path, F_OK) == 0;
    pthread_mutex_unlock(&switch_mu);
    return on;
}

static int f_close(sqlite3_file *f)
{
    sqlite3_file *r = REAL(f);
    return r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;
}

static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    if (failing(STORE_FAIL_WRITE))
        return SQLITE_FULL;
    return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    if (failing(STORE_FAIL_WRITE))
        return SQLITE_IOERR_TRUNCATE;
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int f_sync(sqlite3_file *f, int flags)
{
    if (failing(STORE_FAIL_SYNC))
        return SQLITE_IOERR_FSYNC;
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int f_lock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int f_unlock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int f_check_lock(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int f_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int f_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int f_device(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int f_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}

static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int f_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
    return REAL(f)->pMethods->xFetch(REAL(f), off, amt, pp);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

/* Version 3 methods; the version-2/3 entries are used only when the real file has them. */
static const sqlite3_io_methods shim_methods = {
    3,          f_close,       f_read,       f_write,   f_truncate, f_sync,   f_size,
    f_lock,     f_unlock,      f_check_lock, f_control, f_sector,   f_device, f_shm_map,
    f_shm_lock, f_shm_barrier, f_shm_unmap,  f_fetch,   f_unfetch,
};

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    sqlite3_vfs *real_vfs = vfs->pAppData;
    struct shim_file *sf = (struct shim_file *)(void *)f;
    sf->real = (sqlite3_file *)(void *)(sf + 1);
    sf->base.pMethods = NULL;
    int rc = real_vfs->xOpen(real_vfs, name, sf->real, flags, out_flags);
    /* Without shared memory or memory mapping in the real file, SQLite must not see them in
     * ours; the default unix VFS has both, so version 3 is always right in practice. */
    if (sf->real->pMethods)
        sf->base.pMethods = &shim_methods;
    return rc;
}

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    sqlite3_vfs *r = vfs->pAppData;
    return r->xDelete(r, name, sync_dir);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    sqlite3_vfs *r = vfs->pAppData;
    return r->xAccess(r, name, flags, out);
}

static int v_full_path(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    sqlite3_vfs *r = vfs->pAppData;
    return r->xFullPathname(r, name, n, out);
}

static void *v_dlopen(sqlite3_vfs *vfs, const char *name)
{
    sqlite3_vfs *r = vfs->pAppData;
    return r->xDlOpen(r, name);
}

static void v_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
    sqlite3_vfs *r = vfs->pAppData;
    r->xDlError(r, n, msg);
}

static void (*v_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    sqlite3_vfs *r = vfs->pAppData;
    return r->xDlSym(r, h, sym);
}

static void v_dlclose(sqlite3_vfs *vfs, void *h)
{
    sqlite3_vfs *r = vfs->pAppData;
    r->xDlClose(r, h);
}

static int v_random(sqlite3_vfs *vfs, int n, char *out)
{
    sqlite3_vfs *r = vfs->pAppData;
    return r->xRandomness(r, n, out);
}

static int v_sleep(sqlite3_vfs *vfs, int us)
{
    sqlite3_vfs *r = vfs->pAppData;
    return r->xSleep(r, us);
}

static int v_time(sqlite3_vfs *vfs, double *out)
{
    sqlite3_vfs *r = vfs->pAppData;
    return r->xCurrentTime(r, out);
}

static int v_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    sqlite3_vfs *r = vfs->pAppData;
    return r->xGetLastError ? r->xGetLastError(r, n, out) : 0;
}

static int v_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    sqlite3_vfs *r = vfs->pAppData;
    return r->xCurrentTimeInt64(r, out);
}

static void shim_register(void)
{
    sqlite3_vfs *real_vfs = sqlite3_vfs_find(NULL);
    if (!real_vfs || real_vfs->iVersion < 2)
        return;
    shim_vfs.iVersion = 2;
    shim_vfs.szOsFile = (int)sizeof(struct shim_file) + real_vfs->szOsFile;
    shim_vfs.mxPathname = real_vfs->mxPathname;
    shim_vfs.zName = "tern";
    shim_vfs.pAppData = real_vfs;
    shim_vfs.xOpen = v_open;
    shim_vfs.xDelete = v_delete;
    shim_vfs.xAccess = v_access;
    shim_vfs.xFullPathname = v_full_path;
    shim_vfs.xDlOpen = v_dlopen;
    shim_vfs.xDlError = v_dlerror;
    shim_vfs.xDlSym = v_dlsym;
    shim_vfs.xDlClose = v_dlclose;
    shim_vfs.xRandomness = v_random;
    shim_vfs.xSleep = v_sleep;
    shim_vfs.xCurrentTime = v_time;
    shim_vfs.xGetLastError = v_last_error;
    shim_vfs.xCurrentTimeInt64 = v_time64;
    shim_ok = sqlite3_vfs_register(&shim_vfs, 0) == SQLITE_OK;
}

const char *store_vfs_name(void)
{
    pthread_once(&shim_once, shim_register);
    return shim_ok ? "tern" : NULL;
}

void store_vfs_fail(int mode, const char *switch_file)
{
    pthread_mutex_lock(&switch_mu);
    snprintf(switch_path, sizeof switch_path, "%s", switch_file ? switch_file : "");
    atomic_store(&has_switch, switch_file != NULL);
    pthread_mutex_unlock(&switch_mu);
    atomic_store(&fail_mode, mode);
}
