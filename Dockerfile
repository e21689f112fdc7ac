# carebridge: worker, starter and sandbox as static binaries on a distroless,
# non-root base. Build: docker build -t carebridge .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./worker ./starter ./cmd/sandbox

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
USER nonroot:nonroot
# starter API (8080), worker metrics (9090)
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/starter"]
