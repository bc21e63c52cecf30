#include "model_loading.h"

#include <ctime>
#include <filesystem>

#include "base/file_io.h"
#include "infer/verified_model.h"

namespace cci::tools::run {

Result<manifest::Release> read_release(const std::string& manifest, manifest::ReleaseSigner signer) {
  CCI_ASSIGN(bytes, read_file(manifest, manifest::kMaxReleaseManifestBytes));
  auto release = manifest::verify_release(std::move(bytes), std::move(signer), std::time(nullptr));
  if (!release) return make_error(release.error().code, manifest + ": " + release.error().message, release.error().field);
  return release;
}

Result<SignedModel> load_release_files(manifest::Release release, const std::string& model_dir, const std::string& manifest) {
  // A manifest kept inside the model directory is not part of the model.
  std::vector<std::string> extra;
  if (auto inside = manifest::normalize_ignore_path(model_dir, std::filesystem::absolute(manifest).string())) extra.push_back(*inside);
  CCI_ASSIGN(files, manifest::OpenedModel::open(model_dir, infer::tree_options_for(release.model, extra)));
  CCI_ASSIGN(model, infer::load_verified_model(files, release.model));
  return SignedModel{std::move(release), std::move(files), std::move(model)};
}

Result<SignedModel> load_signed_model(const std::string& model_dir, const std::string& manifest, manifest::ReleaseSigner signer) {
  CCI_ASSIGN(release, read_release(manifest, std::move(signer)));
  return load_release_files(std::move(release), model_dir, manifest);
}

Result<std::vector<manifest::OpenedFile>> unseal_release_model(const manifest::Release& release, const manifest::SealedFiles& sealed, ByteView key,
                                                               unsigned threads) {
  CCI_ASSIGN(aes, crypto::Aes256Gcm::create(key));
  manifest::ChunkWork work;
  work.threads = threads;
  CCI_ASSIGN(plain, manifest::unseal_into_memory(sealed, aes, work));
  // Every plaintext byte against the signed statement, from the memfds the workers will map.
  auto opened = manifest::OpenedModel::adopt(sealed.where, false, std::move(plain));
  if (auto loaded = infer::load_verified_model(opened, release.model); !loaded) {
    return make_error(loaded.error().code, "the decrypted model is not the signed one: " + loaded.error().message, loaded.error().field);
  }
  return opened.take_files();
}

Result<infer::LoadedModel> load_release_model(const manifest::Release& release, const manifest::OpenedModel& files) {
  CCI_ASSIGN(again, manifest::verify_release(release.manifest, release.signer, std::time(nullptr)));
  return infer::load_verified_model(files, again.model);
}

}  // namespace cci::tools::run
