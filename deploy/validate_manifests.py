#!/usr/bin/python3
"""Offline checks of deploy/*.yaml (no cluster needed).

`kubectl create --dry-run=client` still asks an API server for its schemas,
so without a cluster this script checks what we rely on, with JSON Schemas
written from the Kubernetes and Gateway API Inference Extension references
for the fields these manifests use, plus the cross-object rules a schema
cannot state: the Service and the InferencePool select the Deployment's
pods, their ports are container ports, probes hit /health on a declared
port, the grace period covers kvserve's --shutdown-timeout plus the preStop
sleep plus kvserve's 1 s exit margin, and the flags are ones kvserve has.

  validate_manifests.py DEPLOY_DIR [KVSERVE_BINARY]
"""

import os
import subprocess
import sys

import jsonschema
import yaml

NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63}
META = {"type": "object", "required": ["name"], "properties": {"name": NAME}}
PROBE = {
    "type": "object",
    "required": ["httpGet"],
    "properties": {"httpGet": {"type": "object", "required": ["path", "port"]}},
}
CONTAINER = {
    "type": "object",
    "required": ["name", "image", "args", "ports", "readinessProbe", "livenessProbe", "resources"],
    "properties": {
        "name": NAME,
        "image": {"type": "string", "minLength": 1},
        "args": {"type": "array", "items": {"type": "string"}},
        "ports": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["containerPort"],
                "properties": {
                    "name": {"type": "string", "maxLength": 15},
                    "containerPort": {"type": "integer", "minimum": 1, "maximum": 65535},
                },
            },
        },
        "readinessProbe": PROBE,
        "livenessProbe": PROBE,
        "resources": {"type": "object", "required": ["requests", "limits"]},
    },
}
SCHEMAS = {
    ("apps/v1", "Deployment"): {
        "type": "object",
        "required": ["metadata", "spec"],
        "properties": {
            "metadata": META,
            "spec": {
                "type": "object",
                "required": ["selector", "template"],
                "properties": {
                    "replicas": {"type": "integer", "minimum": 0},
                    "selector": {"type": "object", "required": ["matchLabels"]},
                    "template": {
                        "type": "object",
                        "required": ["metadata", "spec"],
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["containers", "terminationGracePeriodSeconds",
                                             "securityContext"],
                                "properties": {
                                    "containers": {"type": "array", "minItems": 1,
                                                   "items": CONTAINER},
                                    "terminationGracePeriodSeconds": {"type": "integer",
                                                                      "minimum": 0},
                                    "securityContext": {
                                        "type": "object",
                                        "required": ["runAsNonRoot"],
                                        "properties": {"runAsNonRoot": {"const": True}},
                                    },
                                },
                            }
                        },
                    },
                },
            },
        },
    },
    ("v1", "Service"): {
        "type": "object",
        "required": ["metadata", "spec"],
        "properties": {"metadata": META, "spec": {"type": "object", "required": ["selector", "ports"]}},
    },
    ("inference.networking.k8s.io/v1", "InferencePool"): {
        "type": "object",
        "required": ["metadata", "spec"],
        "properties": {
            "metadata": META,
            "spec": {
                "type": "object",
                "required": ["selector", "targetPorts", "endpointPickerRef"],
                "additionalProperties": False,
                "properties": {
                    "selector": {"type": "object", "required": ["matchLabels"],
                                 "additionalProperties": False,
                                 "properties": {"matchLabels": {"type": "object"}}},
                    "targetPorts": {
                        "type": "array", "minItems": 1, "maxItems": 8,
                        "items": {"type": "object", "required": ["number"],
                                  "properties": {"number": {"type": "integer", "minimum": 1,
                                                            "maximum": 65535}}},
                    },
                    "appProtocol": {"enum": ["http", "kubernetes.io/h2c"]},
                    "endpointPickerRef": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {
                            "name": NAME,
                            "port": {"type": "object", "required": ["number"]},
                            "failureMode": {"enum": ["FailOpen", "FailClose"]},
                        },
                    },
                },
            },
        },
    },
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): {
        "type": "object",
        "required": ["metadata", "spec"],
        "properties": {"metadata": META,
                       "spec": {"type": "object", "required": ["parentRefs", "rules"]}},
    },
}


def flag(args, name):
    for a in args:
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def main():
    deploy_dir = sys.argv[1]
    binary = sys.argv[2] if len(sys.argv) > 2 else None
    docs = []
    for fn in sorted(os.listdir(deploy_dir)):
        if fn.endswith(".yaml") and fn != "kustomization.yaml":
            with open(os.path.join(deploy_dir, fn)) as f:
                docs += [(fn, d) for d in yaml.safe_load_all(f) if d]
    errors = []
    by_kind = {}
    for fn, d in docs:
        key = (d.get("apiVersion"), d.get("kind"))
        if key not in SCHEMAS:
            errors.append("%s: unexpected %s" % (fn, key))
            continue
        try:
            jsonschema.validate(d, SCHEMAS[key])
        except jsonschema.ValidationError as e:
            errors.append("%s %s: %s at %s" % (fn, key[1], e.message, list(e.absolute_path)))
            continue
        by_kind.setdefault(key[1], []).append(d)

    for dep in by_kind.get("Deployment", []):
        labels = dep["spec"]["template"]["metadata"]["labels"]
        if any(labels.get(k) != v for k, v in dep["spec"]["selector"]["matchLabels"].items()):
            errors.append("Deployment selector does not match its pod labels")
        pod = dep["spec"]["template"]["spec"]
        c = pod["containers"][0]
        ports = {p.get("name"): p["containerPort"] for p in c["ports"]}
        numbers = set(ports.values())
        for probe in ("readinessProbe", "livenessProbe"):
            hg = c[probe]["httpGet"]
            if hg["path"] != "/health":
                errors.append("%s does not probe /health" % probe)
            if hg["port"] not in ports and hg["port"] not in numbers:
                errors.append("%s port %r is not a container port" % (probe, hg["port"]))
        timeout = flag(c["args"], "--shutdown-timeout")
        if timeout is None:
            errors.append("no --shutdown-timeout flag")
        else:
            pre = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
            need = int(timeout) + pre + 1
            if pod["terminationGracePeriodSeconds"] < need:
                errors.append("terminationGracePeriodSeconds %d < shutdown %s + preStop %d + 1" %
                              (pod["terminationGracePeriodSeconds"], timeout, pre))
        for vm in c.get("volumeMounts", []):
            if vm["mountPath"] == "/models" and not vm.get("readOnly"):
                errors.append("the model volume should be read-only")
        if binary:
            # Every flag the manifest passes must be one `kvserve serve` knows.
            out = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
            for a in c["args"][1:]:
                name = a.split("=", 1)[0]
                if name.startswith("--") and name not in out:
                    errors.append("kvserve serve has no flag %s" % name)
        for svc in by_kind.get("Service", []):
            if any(labels.get(k) != v for k, v in svc["spec"]["selector"].items()):
                errors.append("Service %s does not select the pods" % svc["metadata"]["name"])
            for p in svc["spec"]["ports"]:
                if p["targetPort"] not in ports and p["targetPort"] not in numbers:
                    errors.append("Service targetPort %r is not a container port" % p["targetPort"])
        for pool in by_kind.get("InferencePool", []):
            if any(labels.get(k) != v for k, v in pool["spec"]["selector"]["matchLabels"].items()):
                errors.append("InferencePool does not select the pods")
            for tp in pool["spec"]["targetPorts"]:
                if tp["number"] not in numbers:
                    errors.append("InferencePool port %d is not a container port" % tp["number"])
    pools = {p["metadata"]["name"] for p in by_kind.get("InferencePool", [])}
    for route in by_kind.get("HTTPRoute", []):
        for rule in route["spec"]["rules"]:
            for br in rule.get("backendRefs", []):
                if br.get("kind") == "InferencePool" and br["name"] not in pools:
                    errors.append("HTTPRoute points at unknown InferencePool %s" % br["name"])
    for e in errors:
        print(e, file=sys.stderr)
    print("%d objects checked, %d errors" % (len(docs), len(errors)))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
