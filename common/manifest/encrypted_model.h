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

#include "crypto/aead.h"
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

}  // namespace cci::manifest
