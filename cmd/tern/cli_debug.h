/* The -d debug output of `tern pub/sub/rr`: one line per MQTT packet sent or received, worded
 * like libmosquitto's debug log ("Client X sending PUBLISH (d0, q1, r0, m1, 't', ... (5
 * bytes))"), so the output of mosquitto_pub -d and tern pub -d can be compared. */
#ifndef TERN_CMD_CLI_DEBUG_H
#define TERN_CMD_CLI_DEBUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli_opts.h"

/* Prints the line(s) for one whole encoded packet (libtern's on_packet) on out and flushes.
 * Updates cfg->debug_mid, which numbers QoS 0 PUBLISH lines as libmosquitto does. */
void cli_debug_packet(struct cli_cfg *cfg, FILE *out, bool sent, const uint8_t *data, size_t len);

#endif
