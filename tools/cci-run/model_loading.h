// Loading the model a signed manifest names (generate --manifest, serve and its workers). Read
// once, verify once, use those bytes: the release key and the manifest are read once and
// verified (manifest::verify_release), the model's files are opened once and hashed from their
// descriptors as they are loaded (infer::load_verified_model). A missing, extra or changed file
// is an error naming it.
#pragma once

#include <string>

#include "infer/model_files.h"
#include "manifest/opened_model.h"
#include "manifest/release.h"

namespace cci::tools::run {

struct SignedModel {
  manifest::Release release;   // the manifest and key bytes, verified
  manifest::OpenedModel files;  // the descriptors the model was loaded from
  infer::LoadedModel model;
};

// `manifest`: a deployment manifest or a model bundle; `release_key`: the PEM key that signed it.
Result<SignedModel> load_signed_model(const std::string& model_dir, const std::string& manifest, const std::string& release_key);

// A model from a release and descriptors another process checked (a serve worker): both are
// verified again here with the same code, so a worker never serves other bytes than these.
Result<infer::LoadedModel> load_release_model(const manifest::Release& release, const manifest::OpenedModel& files);

}  // namespace cci::tools::run
