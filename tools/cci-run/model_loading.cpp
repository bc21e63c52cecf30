#include "model_loading.h"

#include <ctime>
#include <filesystem>

#include "base/file_io.h"
#include "infer/verified_model.h"

namespace cci::tools::run {

Result<SignedModel> load_signed_model(const std::string& model_dir, const std::string& manifest, const std::string& release_key) {
  CCI_ASSIGN(key, read_file(release_key, 1u << 20));
  CCI_ASSIGN(bytes, read_file(manifest, manifest::kMaxReleaseManifestBytes));
  auto release = manifest::verify_release(std::move(bytes), std::move(key), std::time(nullptr));
  if (!release) return make_error(release.error().code, manifest + ": " + release.error().message, release.error().field);
  // A manifest kept inside the model directory is not part of the model.
  std::vector<std::string> extra;
  if (auto inside = manifest::normalize_ignore_path(model_dir, std::filesystem::absolute(manifest).string())) extra.push_back(*inside);
  CCI_ASSIGN(files, manifest::OpenedModel::open(model_dir, infer::tree_options_for(release->model, extra)));
  CCI_ASSIGN(model, infer::load_verified_model(files, release->model));
  return SignedModel{std::move(*release), std::move(files), std::move(model)};
}

Result<infer::LoadedModel> load_release_model(const manifest::Release& release, const manifest::OpenedModel& files) {
  CCI_ASSIGN(again, manifest::verify_release(release.manifest, release.key_pem, std::time(nullptr)));
  return infer::load_verified_model(files, again.model);
}

}  // namespace cci::tools::run
