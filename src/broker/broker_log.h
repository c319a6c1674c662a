/* log_dest topic: log lines published as $SYS/broker/log/<severity>, Mosquitto's topics. Lines
 * are queued by whichever thread logs them and published by worker 0. */
#ifndef TERN_BROKER_BROKER_LOG_H
#define TERN_BROKER_BROKER_LOG_H

#include <stddef.h>

#include "log.h"

struct broker_log;
struct loop;
struct worker;

/* A queue of lines whose publisher is woken through wake (worker 0's loop). NULL on OOM. */
struct broker_log *broker_log_new(struct loop *wake);
/* Frees the queue and the lines still in it. Accepts NULL. No thread may log into it anymore. */
void broker_log_free(struct broker_log *q);
/* The log_sink_fn (ctx: the struct broker_log *): copies the line into the queue and wakes its
 * publisher. Thread-safe. Drops debug lines, lines beyond a bounded backlog, and lines logged
 * while log lines are being published (which would feed themselves). */
void broker_log_sink(void *ctx, enum log_level level, const char *line, size_t len);
/* Publishes the queued lines through w (worker 0, in its loop): not retained, QoS 2. */
void broker_log_publish(struct worker *w, struct broker_log *q);

#endif
