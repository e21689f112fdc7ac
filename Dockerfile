# carebridge: worker, starter, sandbox and carebridge-audit (it verifies the
# audit trail in place) as static binaries on a distroless, non-root base.
# Build: docker build -t carebridge .
# (Temporal's server and Web UI, which docker-compose.yml builds too:
# deploy/temporal/Dockerfile, deploy/ui/Dockerfile.)
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./worker ./starter ./cmd/sandbox \
 && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/carebridge-audit ./cmd/audit \
 && mkdir -m 0700 /audit

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
# The audit trail's mount point (CAREBRIDGE_AUDIT_DIR; docker-compose.yml's
# audit volume), the non-root user's: a fresh volume takes its owner from it.
COPY --from=build --chown=65532:65532 /audit /var/lib/carebridge/audit
USER nonroot:nonroot
# starter API (8080), worker metrics (9090)
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/starter"]
