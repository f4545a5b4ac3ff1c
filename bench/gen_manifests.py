#!/usr/bin/env python3
"""Generate a GitOps tree: DIRS kustomize directories of FILES manifests each.

usage: gen_manifests.py DIRS FILES OUT

Every directory has a kustomization.yaml listing its files and pinning the app image
with `images:`; each Deployment says `image: registry.example.net/team/appN:kustomized`.
One Deployment in every 50 uses `redis:latest` (a finding for both ops and checkov).
"""
import sys
from pathlib import Path


def main() -> None:
    dirs, files, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    for d in range(dirs):
        base = out / "argocd" / "manifests" / f"app{d}"
        base.mkdir(parents=True, exist_ok=True)
        names = []
        for f in range(files):
            name = f"deployment-{f}.yaml"
            names.append(name)
            floating = (d * files + f) % 50 == 0
            image = "redis:latest" if floating else f"registry.example.net/team/app{d}:kustomized"
            (base / name).write_text(
                f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: app{d}-{f}
  labels:
    app.kubernetes.io/name: app{d}
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: app{d}-{f}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: app{d}-{f}
    spec:
      containers:
        - name: app
          image: {image}
          ports:
            - containerPort: 8080
"""
            )
        listed = "".join(f"  - {n}\n" for n in names)
        (base / "kustomization.yaml").write_text(
            f"resources:\n{listed}images:\n  - name: registry.example.net/team/app{d}\n    newTag: v1.{d}.0\n"
        )


if __name__ == "__main__":
    main()
