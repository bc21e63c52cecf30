// Verified loading: read once, verify once, use those bytes. The model's files are opened once
// (manifest::OpenedModel: descriptors, identity checked) and each is hashed from its descriptor
// and compared with the signed digest before anything uses it: the small files (config.json,
// tokenizer, shard index) are parsed from the very bytes that were hashed, the weight files are
// mapped from the descriptors whose content was hashed through that mapping (so checking and
// loading read the weights once). Nothing is opened again by path. A mismatching, missing or
// extra file fails the load and is named. Bundles that sign shards are checked shard by shard
// on the same mappings.
#pragma once

#include <string>

#include "infer/model_files.h"
#include "manifest/model_signing.h"
#include "manifest/opened_model.h"

namespace cci::infer {

// `expected`: the signed statement of the model (an OMS bundle's, or a deployment manifest's
// model section), already verified by the caller. The files' listing must have been made with
// `expected.serialization`'s ignore paths and symlink rule.
Result<LoadedModel> load_verified_model(const manifest::OpenedModel& files, const manifest::oms::Statement& expected);

// The tree options a model must be opened with for `expected` (its ignore paths and symlink rule,
// the default git ignores, and `extra_ignores`).
manifest::TreeOptions tree_options_for(const manifest::oms::Statement& expected, const std::vector<std::string>& extra_ignores = {});

// Convenience for callers holding an OMS bundle: checks its signature with `opts` (key or trust
// anchors, time, extra ignore paths), opens `path` and loads it as above.
Result<LoadedModel> load_verified_model(const std::string& path, ByteView bundle_json, manifest::VerifyModelOptions opts);

}  // namespace cci::infer
