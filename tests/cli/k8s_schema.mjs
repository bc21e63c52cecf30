// Test oracle for cci-measure k8s: every YAML document of a rendered file is validated against the
// Kubernetes API's schemas (Kubernetes 1.27 OpenAPI, compiled by kubernetes-models from npm; it
// checks types, required fields and formats, and, as the API server's default decoding, lets
// unknown fields pass). Installed by scripts/test into build/test-oracles/k8s. Prints the objects
// as JSON for the test's further checks; exit 1 with the failing path otherwise.
//   node k8s_schema.mjs ORACLE_DIR FILE.yaml
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

const [oracle, file] = process.argv.slice(2);
const require = createRequire(resolve(oracle, "package.json"));
const YAML = require("yaml");
const models = {
  "v1/ConfigMap": require("kubernetes-models/v1/ConfigMap").ConfigMap,
  "v1/Service": require("kubernetes-models/v1/Service").Service,
  "apps/v1/StatefulSet": require("kubernetes-models/apps/v1/StatefulSet").StatefulSet,
  "apps/v1/Deployment": require("kubernetes-models/apps/v1/Deployment").Deployment,
};

try {
  const objects = [];
  for (const doc of YAML.parseAllDocuments(readFileSync(file, "utf8"), { strict: true, uniqueKeys: true })) {
    if (doc.errors.length) throw new Error(`YAML: ${doc.errors[0].message}`);
    const obj = doc.toJS();
    if (obj === null) continue;
    const Model = models[`${obj.apiVersion}/${obj.kind}`];
    if (!Model) throw new Error(`no schema here for ${obj.apiVersion} ${obj.kind}`);
    new Model(obj).validate();  // throws naming the failing path
    objects.push(obj);
  }
  process.stdout.write(JSON.stringify(objects) + "\n");
} catch (e) {
  process.stderr.write(`k8s_schema: ${file}: ${e.message}\n`);
  process.exit(1);
}
