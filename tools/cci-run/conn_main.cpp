// cci-run-conn (started by cci-run serve, one per TCP connection; not for direct use): TLS 1.3
// and HTTP/1.1 for one client, serving one user (common/serve/connection.h). No libtorch: it
// starts in milliseconds.
#include "serve/connection.h"

int main(int argc, char** argv) { return cci::serve::connection_process(argc, argv); }
