# syntax=docker/dockerfile:1
# The relay, with relayctl for the health check: built with the .NET 10 SDK, run on the ASP.NET Core runtime as the
# image's non-root user `app` on port 8080. Nothing secret is baked in: the connection string, the APNs .p8 key
# (Apns:PrivateKeyPath) and the bearer-token signing key (Auth:SigningKey) come from the environment and mounted files
# at run time (see docker-compose.yml and README.md, "Operating with docker compose").

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1
WORKDIR /src

# Restore from the build settings and project files alone, so this layer stays cached until one of them changes.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Relay.Api/Relay.Api.csproj src/Relay.Api/
COPY src/Relay.Apns/Relay.Apns.csproj src/Relay.Apns/
COPY src/Relay.Data/Relay.Data.csproj src/Relay.Data/
COPY src/Relay.Ctl/Relay.Ctl.csproj src/Relay.Ctl/
COPY src/Relay.Client/Relay.Client.csproj src/Relay.Client/
# The relay is published for the build's own platform (--use-current-runtime) because it ships ReadyToRun code
# (Relay.Api.csproj), so it is restored for that platform too, last: the projects both share then keep the
# platform's assets beside the portable ones that relayctl is published with.
RUN dotnet restore src/Relay.Ctl/Relay.Ctl.csproj \
 && dotnet restore src/Relay.Api/Relay.Api.csproj --use-current-runtime

COPY src/ src/
# relayctl first, the relay second: where both ship a file of the same name, the relay's copy is the one kept.
RUN dotnet publish src/Relay.Ctl/Relay.Ctl.csproj -c Release --no-restore -o /app \
 && dotnet publish src/Relay.Api/Relay.Api.csproj -c Release --no-restore --use-current-runtime --no-self-contained -o /app -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
# Owned by root and read-only to the user the relay runs as.
COPY --from=build /app ./

# ASPNETCORE_HTTP_PORTS=8080 is the image's default, stated here because the health check and compose rely on it.
# The relay speaks plain HTTP: in production, terminate TLS in front of it.
ENV ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080
USER $APP_UID

# The ASP.NET Core runtime image has no curl: relayctl exits 0 when /health/ready answers 2xx (PostgreSQL reachable,
# APNs configuration not rejected).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/app/relayctl", "health", "--url", "http://127.0.0.1:8080/health/ready"]

ENTRYPOINT ["dotnet", "Relay.Api.dll"]
