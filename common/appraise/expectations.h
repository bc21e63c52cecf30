// Expectations from what the relying party holds: a verified release (its deployment manifest's
// policy and launch measurements; a plain model bundle gives neither), or a deployment manifest
// file checked with its key.
#pragma once

#include "appraise/appraise.h"
#include "manifest/release.h"

namespace cci::appraise {

// The deployment manifest's policy and its launch measurements for every platform; `label` names
// the manifest in the verdict's policy source.
Status apply_deployment(const manifest::VerifiedManifest& m, const std::string& label, Expectations& e);

// A release (cci-verify cert, remote): a deployment manifest as above; a model bundle names no VM,
// so the built-in policy stays and no measurement is expected from it.
Status apply_release(const manifest::Release& r, const std::string& label, Expectations& e);

}  // namespace cci::appraise
