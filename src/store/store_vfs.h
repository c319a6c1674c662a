/* A pass-through SQLite VFS ("tern") wrapping the default one, used for every store file, with
 * process-wide fault injection for tests: fail writes (disk full) or fsyncs (I/O error). It
 * does not change what reaches the disk when no fault is set. */
#ifndef TERN_STORE_STORE_VFS_H
#define TERN_STORE_STORE_VFS_H

/* Registers the shim once (thread-safe). Returns its name for sqlite3_open_v2, or NULL when
 * the default VFS is missing. */
const char *store_vfs_name(void);

/* Sets the fault: an enum store_fail value, applied only while switch_file exists when it is
 * not NULL (the path is copied). Thread-safe. */
void store_vfs_fail(int mode, const char *switch_file);

#endif
