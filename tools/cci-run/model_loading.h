// Loading a model directory checked against its signed manifest (generate --manifest, serve and
// its workers): the OMS signature against the release key first, then every file hashed as it
// is mapped; a missing, extra or changed file is an error naming it.
#pragma once

#include <string>

#include "infer/model_files.h"

namespace cci::tools::run {

Result<infer::LoadedModel> load_signed_model(const std::string& model_dir, const std::string& manifest, const std::string& release_key);

}  // namespace cci::tools::run
