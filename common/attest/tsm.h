// configfs-tsm (Linux 6.7+, Documentation/ABI/testing/configfs-tsm): one report per entry
// directory under /sys/kernel/config/tsm/report. Write `privlevel` (SNP VMPL) and `inblob`
// (the 64 bytes of REPORT_DATA), then read `outblob` (the report), `auxblob` (the vendor's
// certificate table, optional) and `provider`. `generation` counts writes to the entry: it is
// read before and after `outblob`, and a change means another writer raced us, so the read is
// retried. The entry is removed afterwards.
#pragma once

#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::attest {

struct TsmOptions {
  std::string root = "/sys/kernel/config/tsm/report";
  std::string entry;      // an existing entry to use (not created or removed); empty: a new one
  int privlevel = 0;      // SNP VMPL; written only when the entry has a privlevel attribute
  int attempts = 3;       // reads of outblob when generation changes underneath
};

struct TsmReport {
  std::string provider;  // "sev_guest", "tdx_guest", ...
  Bytes outblob, auxblob;
  std::string entry;     // the entry directory used
};

bool tsm_available(const TsmOptions& o);
Result<TsmReport> tsm_get_report(ByteView report_data, const TsmOptions& o);

}  // namespace cci::attest
