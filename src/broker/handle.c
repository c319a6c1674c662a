/* Dispatch by packet type and connection state, plus the small packets: PINGREQ, DISCONNECT
 * and AUTH. */
#include "handle.h"

#include <string.h>

#include "broker.h"
#include "codec.h"
#include "conn.h"
#include "handle_auth.h"
#include "persist.h"
#include "session.h"
#include "worker.h"

void handle_disconnect(struct conn *c, struct mqtt_packet *p)
{
    struct mqtt_disconnect *d = &p->u.disconnect;
    if (c->version == MQTT_V5 &&
        (d->props.present & MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY_INTERVAL))) {
        /* Raising the expiry from 0 at DISCONNECT is a Protocol Error [MQTT-3.14.2-2]. */
        if (c->connect_expiry_zero && d->props.session_expiry != 0) {
            conn_protocol_error(c, MQTT_RC_PROTOCOL_ERROR, "session expiry raised from 0");
            return;
        }
        c->s->expiry_s = d->props.session_expiry;
        persist_session(c->w->b, c->s);
    }
    /* 0x04 asks for the will to be published; any other reason discards it
     * [MQTT-3.14.4-3]. */
    c->disconnect_normal = !(c->version == MQTT_V5 && d->reason == MQTT_RC_DISCONNECT_WITH_WILL);
    log_msg(c->w->b->log, TLOG_NOTICE, "Client %s disconnected.", c->s->client_id);
    conn_close(c, -1);
}

static void handle_pingreq(struct conn *c)
{
    struct mqtt_packet p;
    memset(&p, 0, sizeof p);
    p.type = MQTT_PINGRESP;
    conn_send(c, &p); /* [MQTT-3.12.4-1] */
}

static void handle_active(struct conn *c, struct mqtt_packet *p)
{
    switch (p->type) {
    case MQTT_PUBLISH:
        handle_publish(c, p);
        break;
    case MQTT_PUBACK:
        handle_puback(c, p);
        break;
    case MQTT_PUBREC:
        handle_pubrec(c, p);
        break;
    case MQTT_PUBREL:
        handle_pubrel(c, p);
        break;
    case MQTT_PUBCOMP:
        handle_pubcomp(c, p);
        break;
    case MQTT_SUBSCRIBE:
        handle_subscribe(c, p);
        break;
    case MQTT_UNSUBSCRIBE:
        handle_unsubscribe(c, p);
        break;
    case MQTT_PINGREQ:
        handle_pingreq(c);
        break;
    case MQTT_DISCONNECT:
        handle_disconnect(c, p);
        break;
    case MQTT_CONNECT:
        conn_protocol_error(c, MQTT_RC_PROTOCOL_ERROR, "second CONNECT"); /* [MQTT-3.1.0-2] */
        break;
    case MQTT_AUTH:
        /* Only valid when CONNECT named an authentication method [MQTT-4.12.0-1]. */
        if (c->auth_method)
            handle_auth(c, p);
        else
            conn_protocol_error(c, MQTT_RC_PROTOCOL_ERROR, "AUTH without authentication method");
        break;
    default:
        /* CONNACK, SUBACK, UNSUBACK, PINGRESP only travel server to client. */
        conn_protocol_error(c, MQTT_RC_PROTOCOL_ERROR, "packet type not allowed from a client");
        break;
    }
}

void handle_packet(struct conn *c, struct mqtt_packet *p)
{
    if (c->state == CONN_NEW) {
        if (p->type != MQTT_CONNECT) {
            /* The first packet must be CONNECT [MQTT-3.1.0-1]. */
            conn_protocol_error(c, MQTT_RC_PROTOCOL_ERROR, "first packet not CONNECT");
            return;
        }
        handle_connect(c, p);
        return;
    }
    if (c->state == CONN_AUTH) {
        /* Between CONNECT and CONNACK only the AUTH exchange may run. */
        if (p->type == MQTT_AUTH)
            handle_auth(c, p);
        else if (p->type == MQTT_DISCONNECT)
            conn_close(c, -1);
        else
            conn_protocol_error(c, MQTT_RC_PROTOCOL_ERROR, "packet during authentication");
        return;
    }
    handle_active(c, p);
}
