// Loading the model a signed manifest names (generate --manifest, serve and its workers). Read
// once, verify once, use those bytes: the release key and the manifest are read once and
// verified (manifest::verify_release), the model's files are opened once and hashed from their
// descriptors as they are loaded (infer::load_verified_model). A missing, extra or changed file
// is an error naming it.
#pragma once

#include <string>

#include "infer/model_files.h"
#include "manifest/encrypted_model.h"
#include "manifest/opened_model.h"
#include "manifest/release.h"

namespace cci::tools::run {

struct SignedModel {
  manifest::Release release;   // the manifest and key bytes, verified
  manifest::OpenedModel files;  // the descriptors the model was loaded from
  infer::LoadedModel model;
};

// `manifest`: a deployment manifest or a model bundle; `signer`: who must have signed it.
Result<SignedModel> load_signed_model(const std::string& model_dir, const std::string& manifest, manifest::ReleaseSigner signer);

// The first half: the manifest read once and verified against the signer.
Result<manifest::Release> read_release(const std::string& manifest, manifest::ReleaseSigner signer);
// The second half, for a verified release: the model's files opened once and loaded.
Result<SignedModel> load_release_files(manifest::Release release, const std::string& model_dir, const std::string& manifest);

// Decrypts a sealed model (manifest::open_recorded_model) into memory with `key` and checks every
// plaintext byte against the signed release, as a worker will: the files as sealed memfds.
Result<std::vector<manifest::OpenedFile>> unseal_release_model(const manifest::Release& release, const manifest::SealedFiles& sealed, ByteView key,
                                                               unsigned threads);

// A model from a release and descriptors another process checked (a serve worker): both are
// verified again here with the same code, so a worker never serves other bytes than these.
Result<infer::LoadedModel> load_release_model(const manifest::Release& release, const manifest::OpenedModel& files);

}  // namespace cci::tools::run
