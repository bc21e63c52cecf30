#include "crypto/tls.h"

#include <poll.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "base/hex.h"
#include "crypto/digest.h"

namespace cci::crypto {
namespace {

std::string openssl_reason() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no OpenSSL reason";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

Error tls_error(const std::string& what) { return make_error(ErrorCode::kIo, what + " (" + openssl_reason() + ")", "tls"); }

struct SslCtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtx = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

Result<SslCtx> tls13_context(const SSL_METHOD* method) {
  SslCtx ctx(SSL_CTX_new(method));
  if (!ctx) return tls_error("SSL_CTX_new");
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) != 1 || SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION) != 1) {
    return tls_error("restricting the context to TLS 1.3");
  }
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_AUTO_RETRY);
  return ctx;
}

}  // namespace

struct TlsContext::Impl {
  SslCtx ctx;
};
struct TlsConnection::Ssl {};  // an SSL object, opaque outside this file

TlsContext::TlsContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsContext::TlsContext(TlsContext&&) noexcept = default;
TlsContext& TlsContext::operator=(TlsContext&&) noexcept = default;
TlsContext::~TlsContext() = default;

Result<TlsContext> TlsContext::server(const PrivateKey& key, const Certificate& cert) {
  CCI_ASSIGN(ctx, tls13_context(TLS_server_method()));
  if (SSL_CTX_use_certificate(ctx.get(), cert.get()) != 1) return tls_error("loading the server certificate");
  if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1) return tls_error("loading the server key");
  if (SSL_CTX_check_private_key(ctx.get()) != 1) return tls_error("the key does not match the certificate");
  return TlsContext(std::make_unique<Impl>(Impl{std::move(ctx)}));
}

Result<TlsContext> TlsContext::client() {
  CCI_ASSIGN(ctx, tls13_context(TLS_client_method()));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);  // checked by attestation instead
  return TlsContext(std::make_unique<Impl>(Impl{std::move(ctx)}));
}

Result<std::unique_ptr<TlsConnection>> TlsConnection::handshake(const TlsContext& ctx, int fd, bool server, const std::string& server_name) {
  SSL* ssl = SSL_new(ctx.impl_->ctx.get());
  if (!ssl) {
    ::close(fd);
    return tls_error("SSL_new");
  }
  std::unique_ptr<TlsConnection> c(new TlsConnection(reinterpret_cast<Ssl*>(ssl), fd));
  if (SSL_set_fd(ssl, fd) != 1) return tls_error("SSL_set_fd");
  if (server) {
    if (SSL_accept(ssl) != 1) return tls_error("TLS handshake with the client failed");
  } else {
    if (!server_name.empty()) SSL_set_tlsext_host_name(ssl, server_name.c_str());
    if (SSL_connect(ssl) != 1) return tls_error("TLS 1.3 handshake with " + server_name + " failed");
  }
  return c;
}

Result<std::unique_ptr<TlsConnection>> TlsConnection::accept(const TlsContext& ctx, int fd) { return handshake(ctx, fd, true, {}); }

Result<std::unique_ptr<TlsConnection>> TlsConnection::connect(const TlsContext& ctx, int fd, const std::string& server_name) {
  return handshake(ctx, fd, false, server_name);
}

TlsConnection::~TlsConnection() {
  SSL_free(reinterpret_cast<SSL*>(ssl_));
  ::close(fd_);
}

Result<size_t> TlsConnection::read_some(void* data, size_t n) {
  size_t got = 0;
  if (SSL_read_ex(reinterpret_cast<SSL*>(ssl_), data, n, &got) == 1) return got;
  const int e = SSL_get_error(reinterpret_cast<SSL*>(ssl_), 0);
  if (e == SSL_ERROR_ZERO_RETURN) return size_t{0};
  if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return size_t{0};  // EOF without close_notify
  return tls_error("TLS read");
}

Status TlsConnection::write_all(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    size_t w = 0;
    if (SSL_write_ex(reinterpret_cast<SSL*>(ssl_), p, n, &w) != 1) return tls_error("TLS write");
    p += w;
    n -= w;
  }
  return {};
}

void TlsConnection::close_notify() { SSL_shutdown(reinterpret_cast<SSL*>(ssl_)); }

void TlsConnection::close_gracefully(double seconds) {
  SSL_shutdown(reinterpret_cast<SSL*>(ssl_));
  ::shutdown(fd_, SHUT_WR);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  char sink[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    if (::read(fd_, sink, sizeof(sink)) <= 0) break;
  }
}

bool TlsConnection::has_buffered_data() const { return SSL_pending(reinterpret_cast<SSL*>(ssl_)) > 0 || SSL_has_pending(reinterpret_cast<SSL*>(ssl_)) == 1; }

Result<Bytes> TlsConnection::exporter(const std::string& label, ByteView context, size_t length) const {
  Bytes out(length);
  if (SSL_export_keying_material(reinterpret_cast<SSL*>(ssl_), out.data(), out.size(), label.data(), label.size(), context.data(), context.size(), 1) != 1) {
    return tls_error("TLS exporter '" + label + "'");
  }
  return out;
}

Result<Certificate> TlsConnection::peer_certificate() const {
  X509* x = SSL_get1_peer_certificate(reinterpret_cast<SSL*>(ssl_));
  if (!x) return make_error(ErrorCode::kVerificationFailed, "the peer sent no certificate", "certificate");
  unsigned char* der = nullptr;
  const int len = i2d_X509(x, &der);
  X509_free(x);
  if (len <= 0) return tls_error("encoding the peer certificate");
  Bytes b(der, der + len);
  OPENSSL_free(der);
  return Certificate::from_der(b);
}

std::string TlsConnection::protocol() const { return SSL_get_version(reinterpret_cast<SSL*>(ssl_)); }

std::string public_key_pin(const Certificate& cert) {
  auto pub = cert.public_key();
  if (!pub) return {};
  return "sha256//" + base64_encode(digest(DigestAlg::kSha256, pub->spki_der()));
}

}  // namespace cci::crypto
