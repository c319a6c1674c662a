/* Names and messages for enum tern_err, generated from TERN_ERR_MAP. */
#include "err.h"

const char *tern_err_name(int err)
{
    switch (err) {
    case TERN_OK:
        return "TERN_OK";
#define TERN_ERR_NAME(name, value, msg)                                                            \
    case TERN_##name:                                                                              \
        return "TERN_" #name;
        TERN_ERR_MAP(TERN_ERR_NAME)
#undef TERN_ERR_NAME
    default:
        return "TERN_E?";
    }
}

const char *tern_strerror(int err)
{
    switch (err) {
    case TERN_OK:
        return "success";
#define TERN_ERR_MSG(name, value, msg)                                                             \
    case TERN_##name:                                                                              \
        return msg;
        TERN_ERR_MAP(TERN_ERR_MSG)
#undef TERN_ERR_MSG
    default:
        return "unknown error";
    }
}
