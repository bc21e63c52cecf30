#include "model_loading.h"

#include <ctime>
#include <filesystem>

#include "base/file_io.h"
#include "cli/inputs.h"
#include "infer/verified_model.h"
#include "manifest/oms.h"

namespace cci::tools::run {

Result<infer::LoadedModel> load_signed_model(const std::string& model_dir, const std::string& manifest, const std::string& release_key) {
  auto key = cli::load_public_key_file(release_key);
  if (!key) return key.error();
  auto bundle = read_file(manifest, manifest::oms::kMaxBundleBytes);
  if (!bundle) return bundle.error();
  manifest::VerifyModelOptions vo;
  vo.public_key = std::move(*key);
  vo.at = std::time(nullptr);
  if (auto inside = manifest::normalize_ignore_path(model_dir, std::filesystem::absolute(manifest).string())) vo.source.ignore.push_back(*inside);
  return infer::load_verified_model(model_dir, *bundle, std::move(vo));
}

}  // namespace cci::tools::run
