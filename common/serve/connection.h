// One client connection of cci-run serve (the cci-run-conn process runs it): TLS 1.3 for one
// client, HTTP/1.1 with pipelined requests answered in order, bound to the user of the first valid
// API key (the accept loop enforces it too), prompts relayed only to that user's worker. Its
// descriptors are parameters, so tests run it in-process over socket pairs.
// Client deadlines: alarm() shuts the client socket down when a request takes longer than
// request_timeout, an idle keep-alive connection longer than keepalive_timeout, or one write to the
// client longer than write_timeout (a client that stops reading loses its connection; its worker
// is never held up by it).
#pragma once

#include "crypto/tls.h"
#include "crypto/x509.h"
#include "ratls/claims.h"
#include "serve/messages.h"

namespace cci::serve {

struct ConnectionIo {
  int client_fd = -1;    // the TCP socket under the TLS connection (the deadline shuts it down)
  int control_fd = -1;   // to the accept loop: evidence and session requests
  int manifest_fd = -1;  // the signed manifest (a sealed memfd), served at GET /v1/attestation/manifest
  int conn_id = 0;       // for logs
};

// Serves the client until it closes, a deadline passes or an error ends the connection.
void serve_connection(crypto::TlsConnection& tls, const msg::ConnInit& init, const crypto::Certificate& cert, const ratls::Claims& claims,
                      const ConnectionIo& io);

// The cci-run-conn process: descriptors 3 (client), 4 (accept loop), 5 (manifest); the first
// control frame is the ConnInit. Hardens itself, installs the connection sandbox, runs the TLS
// handshake within handshake_timeout, then serve_connection. Returns the exit status.
int connection_process(int argc, char** argv);

}  // namespace cci::serve
