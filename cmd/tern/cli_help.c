/* Usage texts for `tern --help` and `tern SUB --help`. The option set mirrors mosquitto_pub,
 * mosquitto_sub, mosquitto_rr and mosquitto_passwd 2.0; see docs/cli.md for details. */
#include "cli_help.h"

static const char common_opts[] =
    " -A : bind the outgoing socket to this host/ip address.\n"
    " -c : disable clean session/clean start (persistent session); needs -i.\n"
    " -d : enable debug messages.\n"
    " -D : define an MQTT v5 property: -D command identifier value [value2].\n"
    "      command: connect, publish, subscribe, unsubscribe, disconnect, will.\n"
    " -h : mqtt host to connect to. Defaults to localhost.\n"
    " -i : id to use for this client. Defaults to a random id.\n"
    " -I : define the client id as id_prefix appended with the process id.\n"
    " -k : keep alive in seconds for this client (5..65535). Defaults to 60.\n"
    " -L : specify user, password, hostname, port and topic as a URL in the form:\n"
    "      mqtt(s)://[username[:password]@]host[:port]/topic\n"
    " -p : network port to connect to. Defaults to 1883 for plain MQTT and 8883 for TLS.\n"
    " -P : provide a password.\n"
    " -u : provide a username.\n"
    " -V : MQTT protocol version: mqttv5, mqttv311 or mqttv31 (also 5, 311, 31).\n"
    " -x : session-expiry-interval in seconds for MQTT v5 (-1 or 4294967295 = never).\n"
    " --help : display this message.\n"
    " --quiet : don't print error messages.\n"
    " --will-payload : payload for the client Will.\n"
    " --will-qos : QoS level for the client Will.\n"
    " --will-retain : if given, make the client Will retained.\n"
    " --will-topic : the topic on which to publish the client Will.\n"
    " --cafile : file of trusted CA certificates; enables TLS.\n"
    " --capath : directory of trusted CA certificates; enables TLS.\n"
    " --cert : client certificate for authentication (needs --key).\n"
    " --key : client private key for authentication (needs --cert).\n"
    " --keyform : key file type: pem. (engine, like --tls-engine and\n"
    "             --tls-engine-kpass-sha1, is refused: OpenSSL 3 deprecated engines.)\n"
    " --tls-version : TLS protocol version: tlsv1.3, tlsv1.2 or tlsv1.1. Defaults to at least "
    "tlsv1.2.\n"
    " --insecure : do not check that the server certificate hostname matches the host.\n"
    " --ciphers : OpenSSL cipher list for TLS 1.2 and older.\n"
    " --tls-alpn : offer this TLS ALPN protocol.\n"
    " --tls-use-os-certs : trust the system's CA certificates; enables TLS.\n"
    " --psk : pre-shared key in hexadecimal (no leading 0x); enables TLS-PSK mode.\n"
    " --psk-identity : client identity for TLS-PSK mode (needed with --psk).\n"
    " --unix : connect through this unix domain socket instead of TCP.\n"
    " --nodelay : disable Nagle's algorithm (lower latency, possibly more packets).\n"
    " --proxy : SOCKS5 proxy URL of the form:\n"
    "           socks5h://[username[:password]@]hostname[:port]\n"
    "           Only \"none\" and \"username\" authentication is supported.\n";

void cli_help_main(FILE *out)
{
    fprintf(out,
            "tern is the command line client of the Tern MQTT broker.\n"
            "tern version %s\n\n"
            "Usage: tern COMMAND [options]\n\n"
            "Commands:\n"
            " pub    : publish messages (like mosquitto_pub).\n"
            " sub    : subscribe and print messages (like mosquitto_sub).\n"
            " rr     : request/response: publish a request, print the reply (like "
            "mosquitto_rr).\n"
            " passwd : manage password files (like mosquitto_passwd).\n"
            " bench  : load-test an MQTT broker (see tern bench --help).\n\n"
            "Use 'tern COMMAND --help' for the options of a command.\n",
            TERN_VERSION);
}

void cli_help_pub(FILE *out)
{
    fprintf(out, "tern pub publishes a message on a topic and exits.\n\n"
                 "Usage: tern pub {[-h host] [-p port] [-u username] [-P password] -t topic | -L "
                 "URL}\n"
                 "                {-f file | -l | -n | -m message | -s}\n"
                 "                [-c] [-k keepalive] [-q qos] [-r] [--repeat N] [--repeat-delay "
                 "time]\n"
                 "                [-x session-expiry] [-A bind_address] [-i id] [-I id_prefix]\n"
                 "                [-d] [--quiet] [-M max_inflight] [-V version] [-D command "
                 "identifier value]\n"
                 "                [--will-topic [--will-payload payload] [--will-qos qos] "
                 "[--will-retain]]\n"
                 "                [{--cafile file | --capath dir} [--cert file] [--key file] "
                 "[--insecure] [--tls-version v]]\n\n");
    fputs(common_opts, out);
    fputs(" -f : send the contents of a file as the message.\n"
          " -l : read messages from stdin, sending a separate message for each line.\n"
          " -m : message payload to send.\n"
          " -M : the maximum inflight messages for QoS 1/2. Defaults to 20.\n"
          " -n : send a null (zero length) message.\n"
          " -q : quality of service level to use for all messages. Defaults to 0.\n"
          " -r : message should be retained.\n"
          " -s : read message from stdin, sending the entire input as a message.\n"
          " -t : mqtt topic to publish to.\n"
          " --repeat : with -f, -m, -n or -s, publish the message N times.\n"
          " --repeat-delay : seconds to wait between repeated publishes. Defaults to 0.\n",
          out);
}

static const char sub_output_opts[] =
    " -F : output format (see docs/cli.md): %t topic, %p payload, %q qos, %r retain,\n"
    "      %m message id, %l payload length, %x/%X hex payload, %I ISO-8601 time,\n"
    "      %U unix time with ns, %j/%J JSON, %A topic alias, %C content type,\n"
    "      %D correlation data, %E message expiry, %F payload format, %P user properties,\n"
    "      %R response topic, %S subscription identifier, @X strftime field X, @N ns,\n"
    "      \\n \\t \\r \\a \\e \\v \\0 \\\\ escapes, %[-][0][width][.precision] conversions.\n"
    " -N : do not add an end of line character when printing the payload.\n"
    " -R : do not print stale messages (those with retain set).\n"
    " -v : print published messages verbosely (topic then payload).\n"
    " -W : timeout in seconds; exit with status 27 when it passes.\n"
    " --pretty : print formatted output rather than minimised output when using -F %j/%J.\n";

void cli_help_sub(FILE *out)
{
    fprintf(out, "tern sub subscribes to topics and prints the messages it receives.\n\n"
                 "Usage: tern sub {[-h host] [-p port] [-u username] [-P password] -t topic | -L "
                 "URL [-t topic]}\n"
                 "                [-c] [-k keepalive] [-q qos] [-x session-expiry-interval]\n"
                 "                [-C msg_count] [-E] [-R] [--retained-only] "
                 "[--remove-retained] [-T filter_out] [-U topic ...]\n"
                 "                [-F format] [-W timeout_secs] [-A bind_address] [-i id] [-I "
                 "id_prefix]\n"
                 "                [-d] [-N] [--quiet] [-v] [-V version] [-D command identifier "
                 "value]\n"
                 "                [--will-topic [--will-payload payload] [--will-qos qos] "
                 "[--will-retain]]\n"
                 "                [{--cafile file | --capath dir} [--cert file] [--key file] "
                 "[--insecure] [--tls-version v]]\n\n");
    fputs(common_opts, out);
    fputs(" -C : disconnect and exit after receiving 'msg_count' messages.\n"
          " -E : exit once all subscriptions have been acknowledged by the broker.\n"
          " -q : quality of service level to use for the subscription. Defaults to 0.\n"
          " -t : mqtt topic to subscribe to. May be repeated.\n"
          " -T : topic string to filter out of results. May be repeated.\n"
          " -U : unsubscribe from a topic. May be repeated.\n"
          " --random-filter : only print this percentage (0.1-100.0) of the messages received.\n"
          " --retained-only : only handle retained messages; exit at the first non-retained.\n"
          " --remove-retained : clear every retained message received (publishes an empty\n"
          "                     retained message to its topic); -T keeps matching ones.\n"
          " --nl : v5 subscription option No Local (a tern extension).\n"
          " --rap : v5 subscription option Retain As Published (a tern extension).\n"
          " --retain-handling : v5 subscription option Retain Handling 0, 1 or 2 (a tern\n"
          "                     extension).\n",
          out);
    fputs(sub_output_opts, out);
}

void cli_help_rr(FILE *out)
{
    fprintf(out, "tern rr publishes a request message and waits for a response.\n"
                 "Defaults to MQTT v5, where the Response Topic property is used.\n\n"
                 "Usage: tern rr {[-h host] [-p port] [-u username] [-P password] -t topic | -L "
                 "URL}\n"
                 "               -e response-topic {-f file | -m message | -n | -s}\n"
                 "               [-c] [-k keepalive] [-q qos] [-R] [-F format] [-N] [-v] [-W "
                 "timeout]\n"
                 "               [-A bind_address] [-i id] [-I id_prefix] [-d] [--quiet] [-V "
                 "version]\n"
                 "               [-D command identifier value] [--will-* ...] [TLS options]\n\n");
    fputs(common_opts, out);
    fputs(" -e : response topic: subscribed to, and sent as the request's Response Topic.\n"
          " -f : send the contents of a file as the request.\n"
          " -m : request payload to send.\n"
          " -n : send a null (zero length) request.\n"
          " -s : read the request from stdin, sending the entire input.\n"
          " -q : quality of service level for the request and the subscription.\n"
          " -t : topic where the request message will be sent.\n",
          out);
    fputs(sub_output_opts, out);
}

void cli_help_passwd(FILE *out)
{
    fputs("tern passwd manages password files for mosquitto and ternd.\n\n"
          "Usage: tern passwd [-H sha512 | -H sha512-pbkdf2 | -H argon2id] [-I iterations] "
          "[-c | -D] passwordfile username\n"
          "       tern passwd [-H ...] [-I iterations] [-c] -b "
          "passwordfile username password\n"
          "       tern passwd -U passwordfile\n"
          " -b : run in batch mode to allow passing passwords on the command line.\n"
          " -c : create a new password file. This will overwrite existing files.\n"
          "      An updated file keeps the mode and owner of the one it replaces.\n"
          " -D : delete the username rather than adding/updating its password.\n"
          " -H : hashing algorithm: sha512-pbkdf2 (default, $7$), sha512 ($6$) or argon2id\n"
          "      (Mosquitto 2.1's $argon2id$ form).\n"
          " -I : PBKDF2 iterations. Defaults to 101, as mosquitto_passwd 2.0.\n"
          " -U : update a plain text password file to use hashed passwords.\n"
          " --help : display this message.\n",
          out);
}
