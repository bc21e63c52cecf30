// Verified loading. The signed model bundle (OMS, from cci-measure model) is checked first,
// signature and statement only; then every file of the model is hashed as it is read for use
// and compared with its signed digest: weight files as they are mapped (so checking and
// loading read the weights once), the small files (config.json, tokenizer, index) before they
// are parsed. A mismatching, missing or extra file fails the load and is named. Bundles that
// sign shards instead of files are checked in full before loading (one extra read).
#pragma once

#include <string>

#include "infer/model_files.h"
#include "manifest/model_signing.h"

namespace cci::infer {

// `opts` carries the key or trust anchors, the time and extra ignore paths (e.g. the bundle's
// own path when it lies inside the model directory); its source.dir is set to `path`.
Result<LoadedModel> load_verified_model(const std::string& path, ByteView bundle_json, manifest::VerifyModelOptions opts);

}  // namespace cci::infer
