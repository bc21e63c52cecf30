// A model directory in the encrypted model format (docs/encrypted-model.md): every file sealed on
// its own (sealed_file.h) under one data-encryption key, at the same relative path, plus an index
// (cci-encryption.json) listing each file's sizes and the SHA-256 of its sealed bytes for the
// deployment manifest. The index is a convenience, never trusted: decryption checks each header
// against the path it was found at, and the decrypted set against the model digest every header
// carries, so a file dropped, added, renamed or taken from another model is found.
// Outputs are built in a temporary directory beside the target and renamed into place at the end:
// an interrupted or failed run leaves no half-written directory.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/aead.h"
#include "manifest/opened_model.h"
#include "sealed/sealed_file.h"

namespace cci::manifest {

using sealed::ChunkWork;

struct SealedFileInfo {
  std::string name;
  std::uint64_t plaintext_size = 0, sealed_size = 0;
  Bytes sealed_sha256;
};

struct SealedModel {
  Bytes model_digest;  // root digest of the plaintext (cci-measure model --print-digest, sha256 files)
  std::string key_id;
  std::uint32_t chunk_size = sealed::kDefaultChunkSize;
  std::vector<SealedFileInfo> files;  // in model order
  std::uint64_t plaintext_bytes = 0;
};

struct EncryptOptions {
  std::string model_dir, out_dir, key_id;
  std::uint32_t chunk_size = sealed::kDefaultChunkSize;
  std::vector<std::string> ignore;  // root-relative paths left out (git metadata is always left out)
  ChunkWork work;
};
// Encrypts every file of o.model_dir into the new directory o.out_dir (it must not exist).
Result<SealedModel> encrypt_model(const EncryptOptions& o, const crypto::Aes256Gcm& key);

struct DecryptOptions {
  std::string enc_dir, out_dir;  // out_dir must not exist; files are written 0600 in a 0700 directory
  ChunkWork work;
};
// Decrypts and checks every file of o.enc_dir into o.out_dir.
Result<SealedModel> decrypt_model(const DecryptOptions& o, const crypto::Aes256Gcm& key);

// Reads an encrypted model directory without the key: every header (checked against its path,
// one key id and one model digest for all) and the SHA-256 of every sealed file, for the
// deployment manifest. Nothing is decrypted; the index is not read.
Result<SealedModel> inspect_encrypted_model(const std::string& enc_dir);

// The index document (schema cci.encrypted-model.v1), as written into the directory.
std::string index_json(const SealedModel& m);

// ---- serving an encrypted model (cci-run serve --key-source) ----

// What a signed deployment manifest records of the encrypted model (predicate.model.encryption).
struct EncryptionRecord {
  std::string key_id;
  std::uint32_t chunk_size = 0;
  struct File {
    std::string name;
    std::uint64_t sealed_size = 0;
    Bytes sealed_sha256;
  };
  std::vector<File> files;
};

// The record in a verified deployment predicate, read strictly (format CCI-ENC1, cipher
// AES-256-GCM, every member typed, names valid and unique); nullopt when the model is not encrypted.
Result<std::optional<EncryptionRecord>> encryption_record(const nlohmann::json& predicate);

// The encrypted model as a sealed server holds it before the key arrives: every file the record
// lists, opened once below `enc_dir` and checked against it (size, SHA-256 of the sealed bytes,
// header name, key id, chunk size, one model digest), so ciphertext the host swapped is refused at
// start, before anyone is asked for the key.
struct SealedFiles {
  std::string where;
  std::uint64_t plaintext_bytes = 0;
  std::vector<OpenedFile> files;  // the record's order
};
Result<SealedFiles> open_recorded_model(const std::string& enc_dir, const EncryptionRecord& record);

// Decrypts every file into memory: one memfd per file (never a path, never disk), sealed against
// writing, growing and shrinking once full, to be mapped read-only by the workers. A chunk whose
// tag fails stops everything (kVerificationFailed, "the key does not open this model", naming the
// file and chunk, nothing about the key) and the partial memfds are dropped.
//
// How the plaintext gets into a memfd: kWrite decrypts each chunk into a per-thread buffer
// (wiped at the end) and pwrite()s it, so the kernel allocates the memfd's pages inside one call
// per chunk; kMap decrypts straight into a shared writable mapping, each 4 KiB page allocated by
// its own page fault, or one fault per 2 MiB where the mapping may ask for huge pages. kAuto
// (what the server uses) maps only where the kernel gives shared memory huge pages on request
// alone (shmem_huge_pages_need_advice), and writes otherwise: on a VM whose page faults are
// costly, faulting 4 KiB pages in was 7 x slower than writing (docs/performance.md).
enum class UnsealHow { kAuto, kWrite, kMap };
Result<std::vector<OpenedFile>> unseal_into_memory(const SealedFiles& sealed, const crypto::Aes256Gcm& key, const ChunkWork& w,
                                                   UnsealHow how = UnsealHow::kAuto);

}  // namespace cci::manifest
