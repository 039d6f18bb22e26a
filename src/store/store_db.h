/* store_db.h: the store's connections, for the modules that keep their tables in it (ledger.c).
 * Not for the rest of gpuctl: they go through store.h and ledger.h. */
#ifndef GPUCTL_STORE_STORE_DB_H
#define GPUCTL_STORE_STORE_DB_H

#include <sqlite3.h>

/* Three connections, so that no transaction meets another's on one connection: the sampler
 * writes minutes on db; the scheduler writes its ledger on lg (under its own lock); requests read
 * minutes on ro, which sees only committed rows. SQLite serializes the use of each. */
struct store {
    sqlite3 *db;
    sqlite3 *ro;
    sqlite3 *lg;
    sqlite3_stmt *put_alloc, *put_task; /* the ledger's, prepared at the first use */
};

#endif
