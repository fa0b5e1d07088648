# Multi-stage build: a static binary on a distroless base, run as non-root.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/messina ./cmd/messina

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/messina /messina
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/messina"]
CMD ["serve"]
