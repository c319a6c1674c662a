/* $SYS/broker/... topics with Mosquitto's names, published as retained messages every
 * sys_interval seconds from worker 0. */
#ifndef TERN_BROKER_SYS_H
#define TERN_BROKER_SYS_H

struct sys_state;
struct worker;

/* Zeroed statistics state for broker.sys; free with mem_free. */
struct sys_state *sys_state_new(void);

/* Publishes the static topics (version) and starts the periodic timer; on worker 0's thread. */
void sys_start(struct worker *w);

#endif
