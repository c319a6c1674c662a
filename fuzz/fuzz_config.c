/* Fuzz target for the configuration parser: any bytes, as a mosquitto.conf text, must parse or
 * fail with diagnostics, without crashing or leaking. Invariants: success means no errors were
 * reported; failure means at least one was, each naming the input ("fuzz:LINE: ..."). */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct config *c = NULL;
    struct config_diag d;
    memset(&d, 0, sizeof d);
    int rc = config_load_string(text, "fuzz", &c, &d);
    if (rc == 0 && (!c || d.error_count != 0))
        abort();
    if (rc == TERN_ECONFIG && d.error_count == 0)
        abort();
    for (size_t i = 0; i < d.error_count; i++)
        if (strncmp(d.errors[i], "fuzz", 4) != 0)
            abort();
    config_free(c);
    config_diag_free(&d);
    free(text);
    return 0;
}
