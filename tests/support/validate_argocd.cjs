// Validate Argo CD objects against Argo CD's CRD schemas.
// stdin: a JSON array of objects; stdout: a JSON array, per object,
// of error strings (empty: valid). Packages: scripts/install-node-deps.sh.
"use strict";
const models = require("@kubernetes-models/argo-cd/argoproj.io/v1alpha1");

let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const results = JSON.parse(input).map((object) => {
    const Model = object.apiVersion === "argoproj.io/v1alpha1" && models[object.kind];
    if (!Model) {
      return [`not an Argo CD kind: ${object.apiVersion} ${object.kind}`];
    }
    try {
      new Model(object).validate();
      return [];
    } catch (error) {
      return [error.message];
    }
  });
  process.stdout.write(JSON.stringify(results));
});
