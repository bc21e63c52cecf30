// TLS 1.3 over a socket that is already connected (cci-run serve hands each accepted TCP
// connection to its own process; clients connect first, then wrap). OpenSSL behind an opaque
// interface (no OpenSSL header leaves common/crypto), TLS 1.3 only, no other
// version and no session resumption: every connection is a full handshake with the key that
// the attestation binds, and exporters (RFC 8446 §7.5) tie fresh evidence to this connection.
#pragma once

#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace cci::crypto {

// A TLS 1.3-only context (OpenSSL stays behind it): server contexts hold the key and
// certificate in memory; client contexts do not check the server's certificate against any CA
// (an attested server's certificate is self-signed and is checked through its evidence).
class TlsContext {
 public:
  static Result<TlsContext> server(const PrivateKey& key, const Certificate& cert);
  static Result<TlsContext> client();
  TlsContext(TlsContext&&) noexcept;
  TlsContext& operator=(TlsContext&&) noexcept;
  ~TlsContext();

 private:
  friend class TlsConnection;
  struct Impl;
  explicit TlsContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class TlsConnection {
 public:
  // Runs the handshake on `fd` (which the connection then owns).
  static Result<std::unique_ptr<TlsConnection>> accept(const TlsContext& ctx, int fd);
  static Result<std::unique_ptr<TlsConnection>> connect(const TlsContext& ctx, int fd, const std::string& server_name);
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  // Reads at most n bytes; 0 at a clean close (close_notify or EOF).
  Result<size_t> read_some(void* data, size_t n);
  Status write_all(const void* data, size_t n);
  void close_notify();
  // close_notify, then stop sending and discard what the peer still sends, for at most
  // `seconds`: a client still uploading a refused body reads our answer instead of a reset.
  void close_gracefully(double seconds);
  bool has_buffered_data() const;  // decrypted bytes waiting (SSL_pending)

  // TLS-Exporter(label, context, length) (RFC 8446 §7.5).
  Result<Bytes> exporter(const std::string& label, ByteView context, size_t length) const;
  // The peer's certificate (clients: the server's).
  Result<Certificate> peer_certificate() const;
  std::string protocol() const;  // "TLSv1.3"
  int fd() const { return fd_; }

 private:
  struct Ssl;
  TlsConnection(Ssl* ssl, int fd) : ssl_(ssl), fd_(fd) {}
  static Result<std::unique_ptr<TlsConnection>> handshake(const TlsContext& ctx, int fd, bool server, const std::string& server_name);
  Ssl* ssl_;
  int fd_;
};

// "sha256//BASE64" of SHA-256(SubjectPublicKeyInfo DER): the pin `curl --pinnedpubkey` takes.
std::string public_key_pin(const Certificate& cert);

}  // namespace cci::crypto
