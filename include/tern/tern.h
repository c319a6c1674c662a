/* libtern, the Tern MQTT client library: include this one header.
 * Link with libtern (pkg-config --libs libtern). See client.h for the API and its rules. */
#ifndef TERN_PUBLIC_TERN_H
#define TERN_PUBLIC_TERN_H

#include "alloc.h"
#include "client.h"
#include "errors.h"
#include "message.h"
#include "passwd.h"
#include "version.h"

#endif
