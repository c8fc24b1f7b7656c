using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Relay.Api.Configuration;
using Relay.Apns;
using Relay.MockApns;
using YamlDotNet.RepresentationModel;

namespace Relay.Api.Tests;

/// <summary>
/// docker-compose.yml and the Dockerfiles cannot be run where the tests run (no Docker engine), so these tests keep
/// them from drifting away from the code: services, volumes, secrets, ports, configuration keys, the mock's variables
/// and credentials, health checks, and what the images are built from and run as.
/// </summary>
public sealed partial class ComposeFileTests
{
    private const string ReadmeSection = "## Operating with docker compose";

    /// <summary>The settings the README's configuration table documents (and Logging:Json), each of which the compose stack must give the relay.</summary>
    private static readonly string[] SpecKeys =
    [
        "ConnectionStrings__Relay",
        "Apns__TeamId",
        "Apns__KeyId",
        "Apns__PrivateKeyPath",
        "Apns__ProductionEndpoint",
        "Apns__SandboxEndpoint",
        "Apns__TrustedCaPath",
        "Apns__Apps__0__Topic",
        "Apns__Apps__0__Alert__Title",
        "Apns__Apps__0__Sound",
        "Auth__SigningKey",
        "Auth__TokenLifetime",
        "Database__MigrateOnStartup",
        "Delivery__AnswerTimeout",
        "Delivery__RetryInitialDelay",
        "Delivery__RetryMaxDelay",
        "Delivery__ImmediateRetryWindow",
        "Delivery__LeaseTimeout",
        "Delivery__ShutdownTimeout",
        "Realtime__AckTimeout",
        "Realtime__MaxConnectionsPerAccount",
        "Inbox__MaxPerDevice",
        "Redis__Configuration",
        "Logging__Json",
    ];

    private static readonly string[] ServiceNames = ["postgres", "redis", "mockapns", "relay"];

    private static readonly string Root = FindRepositoryRoot();
    private static readonly YamlMappingNode Compose = LoadYaml(File.ReadAllText(Path.Combine(Root, "docker-compose.yml")));
    private static readonly string Readme = File.ReadAllText(Path.Combine(Root, "README.md"));

    public static TheoryData<string> Dockerfiles => new() { "Dockerfile", "tests/Relay.MockApns/Dockerfile" };

    [Fact]
    public void TheStackHasPostgresRedisTheMockApnsAndTheRelay()
    {
        foreach (var name in ServiceNames)
        {
            Assert.True(Services.Children.ContainsKey(new YamlScalarNode(name)),
                $"docker-compose.yml has no service '{name}'; the stack is postgres, redis, mockapns and relay.");
        }
    }

    [Fact]
    public void EveryServiceNamedInDependsOnExistsAndHealthyConditionsHaveAHealthcheck()
    {
        foreach (var (service, dependencies) in ServiceEntries().Select(s => (s.Name, DependsOn(s.Node))))
        {
            foreach (var (dependency, condition) in dependencies)
            {
                Assert.True(Services.Children.ContainsKey(new YamlScalarNode(dependency)),
                    $"service '{service}' depends on '{dependency}', which docker-compose.yml does not define.");
                Assert.True(condition is "service_started" or "service_healthy" or "service_completed_successfully",
                    $"service '{service}' waits for '{dependency}' with condition '{condition}', which compose does not know.");
                if (condition == "service_healthy")
                {
                    Assert.True(HealthcheckOf(dependency).Length > 0,
                        $"service '{service}' waits for '{dependency}' to be healthy, but '{dependency}' has no healthcheck.");
                }
            }
        }
    }

    [Fact]
    public void TheRelayStartsOnlyOncePostgresAndTheMockApnsAreHealthy()
    {
        var dependencies = DependsOn(Service("relay"));

        Assert.True(dependencies.GetValueOrDefault("postgres") == "service_healthy",
            "relay must depend on postgres with condition service_healthy: migrations run at start-up.");
        Assert.True(dependencies.GetValueOrDefault("mockapns") == "service_healthy",
            "relay must depend on mockapns with condition service_healthy: it reads the .p8 and CA the mock generates.");
    }

    [Fact]
    public void EveryNamedVolumeIsDeclaredAndEveryDeclaredVolumeIsUsed()
    {
        var declared = Keys(Child(Compose, "volumes")).ToHashSet(StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (service, node) in ServiceEntries())
        {
            foreach (var mount in VolumesOf(node).Where(m => m.Named))
            {
                used.Add(mount.Source);
                Assert.True(declared.Contains(mount.Source),
                    $"service '{service}' mounts the named volume '{mount.Source}', which the top-level volumes: does not declare.");
            }
        }

        foreach (var volume in declared)
        {
            Assert.True(used.Contains(volume), $"the top-level volume '{volume}' is declared but no service mounts it.");
        }

        Assert.Contains(VolumesOf(Service("postgres")), m => m.Named && m.Target == "/var/lib/postgresql/data");
    }

    [Fact]
    public void EverySecretIsDeclaredUsedAndBackedByAFileThatExistsOrTheReadmeSaysToCreate()
    {
        var declared = Child(Compose, "secrets") as YamlMappingNode;
        var declaredNames = Keys(declared).ToHashSet(StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (service, node) in ServiceEntries())
        {
            foreach (var secret in SecretsOf(node))
            {
                used.Add(secret);
                Assert.True(declaredNames.Contains(secret),
                    $"service '{service}' uses the secret '{secret}', which the top-level secrets: does not declare.");
            }
        }

        foreach (var name in declaredNames)
        {
            Assert.True(used.Contains(name), $"the top-level secret '{name}' is declared but no service uses it.");
            if (Scalar(Child(Child(declared!, name), "file")) is { Length: > 0 } file)
            {
                var relative = file.StartsWith("./", StringComparison.Ordinal) ? file[2..] : file;
                Assert.True(File.Exists(Path.Combine(Root, relative)) || Readme.Contains(relative, StringComparison.Ordinal),
                    $"the secret '{name}' is read from '{file}', which neither exists nor is a file README.md tells operators to create.");
            }
        }
    }

    [Fact]
    public void EveryBuildContextAndDockerfileExists()
    {
        var built = 0;
        foreach (var (service, node) in ServiceEntries())
        {
            if (Child(node, "build") is not { } build)
            {
                continue;
            }

            built++;
            var context = Scalar(build) ?? Scalar(Child(build, "context")) ?? ".";
            var contextPath = Path.GetFullPath(Path.Combine(Root, context));
            Assert.True(Directory.Exists(contextPath), $"service '{service}' builds from the context '{context}', which does not exist.");
            var dockerfile = Scalar(Child(build, "dockerfile")) ?? "Dockerfile";
            Assert.True(File.Exists(Path.Combine(contextPath, dockerfile)),
                $"service '{service}' builds with '{dockerfile}' in '{context}', which does not exist.");
        }

        Assert.True(built >= 2, "relay and mockapns must be built from this repository.");
        Assert.Equal("Dockerfile", DockerfileOf("relay"));
        Assert.Equal("tests/Relay.MockApns/Dockerfile", DockerfileOf("mockapns"));
    }

    [Fact]
    public void PublishedPortsReachThePortsTheServicesListenOn()
    {
        var relayDockerfile = ParseDockerfile("Dockerfile");
        var relayPort = Assert.Single(relayDockerfile.FinalStage.Expose);
        Assert.True(relayDockerfile.Env.GetValueOrDefault("ASPNETCORE_HTTP_PORTS", "8080") == relayPort.ToString(CultureInfo.InvariantCulture),
            $"the relay image listens on ASPNETCORE_HTTP_PORTS={relayDockerfile.Env.GetValueOrDefault("ASPNETCORE_HTTP_PORTS")} but EXPOSEs {relayPort}.");
        var relayEnvironment = EnvironmentOf("relay");
        Assert.False(relayEnvironment.ContainsKey("ASPNETCORE_URLS") || relayEnvironment.ContainsKey("ASPNETCORE_HTTP_PORTS"),
            "docker-compose.yml moves the relay off the image's port; publish and health-check the new one, then update this test.");
        Assert.True(PublishedTargets("relay").Contains(relayPort),
            $"relay publishes container ports [{string.Join(", ", PublishedTargets("relay"))}], not {relayPort} where it listens (the Dockerfile's EXPOSE).");

        var mockPort = int.Parse(EnvironmentOf("mockapns").GetValueOrDefault("MOCKAPNS_PORT", "2197"), CultureInfo.InvariantCulture);
        Assert.Equal(2197, mockPort);
        Assert.True(PublishedTargets("mockapns").Contains(mockPort),
            $"mockapns publishes container ports [{string.Join(", ", PublishedTargets("mockapns"))}], not {mockPort} where it serves (MOCKAPNS_PORT).");
        Assert.True(ParseDockerfile("tests/Relay.MockApns/Dockerfile").FinalStage.Expose.Contains(mockPort),
            $"the mock APNs image does not EXPOSE {mockPort}, the port compose gives it.");
    }

    [Fact]
    public void EveryEnvironmentKeyGivenToTheRelayIsARelayConfigurationKey()
    {
        var known = RelayConfigurationKeys();
        foreach (var key in EnvironmentOf("relay").Keys)
        {
            Assert.True(IsRelayConfigurationKey(key, known),
                $"relay is given '{key}', which is not a relay configuration key (src/Relay.Api/appsettings.json, the options classes, " +
                "ConnectionStrings:Relay, ASPNETCORE_*, DOTNET_*): a typo or a setting that was renamed.");
        }
    }

    [Fact]
    public void EverySettingSpecSection3ListsIsGivenToTheRelay()
    {
        var environment = EnvironmentOf("relay");
        var secretTargets = SecretMountsOf(Service("relay")).Select(m => m.Target).ToHashSet(StringComparer.Ordinal);
        foreach (var key in SpecKeys)
        {
            Assert.True((environment.TryGetValue(key, out var value) && value.Length > 0) || secretTargets.Contains(key),
                $"relay is not given {key} (a required setting) in docker-compose.yml, neither as a non-empty environment variable nor as a secret with target {key}.");
        }

        Assert.True(string.Equals(environment["Database__MigrateOnStartup"], "true", StringComparison.OrdinalIgnoreCase),
            "the compose stack must apply migrations at start-up: Database__MigrateOnStartup: \"true\".");
        Assert.True(TimeSpan.TryParse(environment["Auth__TokenLifetime"], CultureInfo.InvariantCulture, out _),
            $"Auth__TokenLifetime '{environment["Auth__TokenLifetime"]}' is not a TimeSpan.");
    }

    [Fact]
    public void TheSigningKeyIsAComposeSecretReadAsAuthSigningKeyNeverAnEnvironmentVariable()
    {
        var relay = Service("relay");
        var signingKey = SecretMountsOf(relay).Where(m => m.Target == "Auth__SigningKey").ToList();
        Assert.True(signingKey.Count == 1,
            "relay must be given exactly one secret with target Auth__SigningKey (mounted as /run/secrets/Auth__SigningKey, read as Auth:SigningKey).");
        Assert.True(IsRelayConfigurationKey(signingKey[0].Target, RelayConfigurationKeys()),
            $"the secret target '{signingKey[0].Target}' is not a relay configuration key in key-per-file form (`__` for `:`).");

        var declared = Child(Child(Compose, "secrets"), signingKey[0].Source);
        Assert.True(declared is not null, $"relay's signing key comes from the secret '{signingKey[0].Source}', which the top-level secrets: does not declare.");
        Assert.True(Scalar(Child(declared, "file")) is { Length: > 0 } file && !Path.IsPathRooted(file),
            $"the secret '{signingKey[0].Source}' must be a file: next to docker-compose.yml (./secrets/...), which README.md tells operators to create.");

        foreach (var (service, node) in ServiceEntries())
        {
            foreach (var key in EnvironmentOf(node).Keys)
            {
                Assert.False(string.Equals(key.Replace("__", ":", StringComparison.Ordinal), "Auth:SigningKey", StringComparison.OrdinalIgnoreCase),
                    $"service '{service}' sets {key} in its environment: the signing key is the relay-signing-key secret, never an environment variable.");
            }
        }

        Assert.DoesNotContain("RELAY_SIGNING_KEY", File.ReadAllText(Path.Combine(Root, "docker-compose.yml")), StringComparison.Ordinal);
    }

    [Fact]
    public void TheRelayReadsComposeSecretsAsConfigurationFromRunSecrets()
    {
        // Program.cs, comments left out: the key-per-file source must still read /run/secrets, where compose mounts
        // secrets whose target is a relative name, or the signing key secret would silently stop reaching the relay.
        var program = string.Join('\n', File.ReadAllLines(Path.Combine(Root, "src", "Relay.Api", "Program.cs"))
            .Where(l => !l.TrimStart().StartsWith("//", StringComparison.Ordinal)));
        Assert.True(KeyPerFileRunSecrets().IsMatch(program),
            "src/Relay.Api/Program.cs no longer calls AddKeyPerFile with \"/run/secrets\": the relay's compose secrets (target Auth__SigningKey) would not be read.");

        var environment = EnvironmentOf("relay");
        Assert.True(environment.GetValueOrDefault("Secrets__Directory", "/run/secrets") is "/run/secrets" or "/run/secrets/",
            $"relay's Secrets__Directory is '{environment.GetValueOrDefault("Secrets__Directory")}': compose mounts the secrets in /run/secrets.");
        foreach (var mount in SecretMountsOf(Service("relay")).Where(m => m.Target.Contains("__", StringComparison.Ordinal)))
        {
            Assert.False(mount.Target.Contains('/', StringComparison.Ordinal),
                $"relay's secret '{mount.Source}' has the target '{mount.Target}': a configuration key must be a bare file name, mounted in /run/secrets.");
        }
    }

    [Fact]
    public void TheDatabasePasswordComesFromDotEnvNeverFromTheComposeFile()
    {
        Assert.Matches(PasswordInterpolation(), EnvironmentOf("relay")["ConnectionStrings__Relay"]);
        Assert.Matches(RequiredInterpolation(), EnvironmentOf("postgres")["POSTGRES_PASSWORD"]);
        Assert.True(Readme.Contains("POSTGRES_PASSWORD", StringComparison.Ordinal) && Readme.Contains(".env", StringComparison.Ordinal),
            "README.md must tell operators to put POSTGRES_PASSWORD in .env.");
    }

    [Fact]
    public void EveryMockApnsVariableIsOneTheMockReads()
    {
        var cliSource = string.Concat(Directory.GetFiles(Path.Combine(Root, "tests", "Relay.MockApns", "Cli"), "*.cs").Select(File.ReadAllText));
        var read = MockVariable().Matches(cliSource).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(read);

        var environment = EnvironmentOf("mockapns");
        foreach (var key in environment.Keys)
        {
            Assert.True(read.Contains(key),
                $"mockapns is given '{key}', which tests/Relay.MockApns/Cli does not read (it reads {string.Join(", ", read.Order(StringComparer.Ordinal))}).");
        }

        Assert.True(environment.GetValueOrDefault("MOCKAPNS_GENERATE")?.ToUpperInvariant() is "TRUE" or "1" or "YES",
            "mockapns must generate its development CA and .p8 (MOCKAPNS_GENERATE: \"true\"): the relay reads them.");
        Assert.True(IPAddress.TryParse(environment.GetValueOrDefault("MOCKAPNS_HOST", "127.0.0.1"), out var host) && !IPAddress.IsLoopback(host),
            "mockapns must listen beyond its own loopback (MOCKAPNS_HOST: 0.0.0.0) or the relay's container cannot reach it.");
    }

    [Fact]
    public void TheRelayPushesToTheMockApnsByServiceNameAndPortWithACertificateValidForThatName()
    {
        var relay = EnvironmentOf("relay");
        var mockPort = int.Parse(EnvironmentOf("mockapns").GetValueOrDefault("MOCKAPNS_PORT", "2197"), CultureInfo.InvariantCulture);
        foreach (var key in new[] { "Apns__ProductionEndpoint", "Apns__SandboxEndpoint" })
        {
            var endpoint = new Uri(relay[key]);
            Assert.True(endpoint.Scheme == Uri.UriSchemeHttps && endpoint.Host == "mockapns" && endpoint.Port == mockPort,
                $"relay's {key} is {endpoint}, not https://mockapns:{mockPort} (the mock's service name and MOCKAPNS_PORT).");
            Assert.True(MockApnsCertificates.ServerNames.Contains(endpoint.Host),
                $"the mock's generated certificate is not valid for '{endpoint.Host}' (MockApnsCertificates.ServerNames): TLS would fail.");
        }
    }

    [Fact]
    public void TheRelayUsesTheTeamKeyTopicsAndFilesTheMockGenerates()
    {
        var relay = EnvironmentOf("relay");
        var mock = EnvironmentOf("mockapns");
        Assert.True(relay["Apns__TeamId"] == mock.GetValueOrDefault("MOCKAPNS_TEAM_ID"),
            $"relay's Apns__TeamId '{relay["Apns__TeamId"]}' differs from mockapns's MOCKAPNS_TEAM_ID '{mock.GetValueOrDefault("MOCKAPNS_TEAM_ID")}': every push would be 403 InvalidProviderToken.");
        Assert.True(relay["Apns__KeyId"] == mock.GetValueOrDefault("MOCKAPNS_KEY_ID"),
            $"relay's Apns__KeyId '{relay["Apns__KeyId"]}' differs from mockapns's MOCKAPNS_KEY_ID '{mock.GetValueOrDefault("MOCKAPNS_KEY_ID")}': every push would be 403 InvalidProviderToken.");

        if (mock.GetValueOrDefault("MOCKAPNS_TOPICS") is { Length: > 0 } topicList)
        {
            var topics = topicList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            foreach (var (key, topic) in relay.Where(e => AppTopic().IsMatch(e.Key)))
            {
                Assert.True(topics.Contains(topic), $"relay's {key} '{topic}' is not in mockapns's MOCKAPNS_TOPICS '{topicList}': the mock would answer 400 TopicDisallowed.");
            }
        }

        var certs = mock.GetValueOrDefault("MOCKAPNS_CERTS") ?? throw new Xunit.Sdk.XunitException("mockapns has no MOCKAPNS_CERTS.");
        var mockVolume = VolumesOf(Service("mockapns")).SingleOrDefault(m => m.Named && m.Target == certs);
        Assert.True(mockVolume is not null, $"mockapns writes its credentials to {certs}, which is not a named volume the relay could share.");
        var relayMount = VolumesOf(Service("relay")).SingleOrDefault(m => m.Named && m.Source == mockVolume!.Source);
        Assert.True(relayMount is not null, $"relay does not mount the volume '{mockVolume!.Source}' holding the mock's credentials.");
        Assert.True(relayMount!.ReadOnly, $"relay should mount '{relayMount.Source}' read-only: it only reads the .p8 and the CA.");
        Assert.Equal($"{relayMount.Target}/{MockApnsCertificates.ProviderKeyFileName}", relay["Apns__PrivateKeyPath"]);
        Assert.Equal($"{relayMount.Target}/{MockApnsCertificates.CaFileName}", relay["Apns__TrustedCaPath"]);
    }

    [Fact]
    public void EveryServiceHasAHealthcheckThatProbesWhatItServes()
    {
        foreach (var service in ServiceNames)
        {
            Assert.True(HealthcheckOf(service).Length > 0, $"service '{service}' has no healthcheck.");
        }

        Assert.Contains("pg_isready", HealthcheckOf("postgres"), StringComparison.Ordinal);
        Assert.Contains("redis-cli ping", HealthcheckOf("redis"), StringComparison.Ordinal);
        Assert.Equal("redis:6379", EnvironmentOf("relay")["Redis__Configuration"]);
        Assert.Equal("service_healthy", DependsOn(Service("relay")).GetValueOrDefault("redis"));

        var relayPort = Assert.Single(ParseDockerfile("Dockerfile").FinalStage.Expose);
        var relayCheck = HealthcheckOf("relay");
        Assert.True(relayCheck.Contains($"127.0.0.1:{relayPort}/health/ready", StringComparison.Ordinal),
            $"relay's healthcheck '{relayCheck}' does not probe /health/ready on port {relayPort}.");
        Assert.True(relayCheck.Contains("relayctl", StringComparison.Ordinal),
            $"relay's healthcheck '{relayCheck}' should use relayctl: the ASP.NET Core runtime image has no curl.");

        var mock = EnvironmentOf("mockapns");
        var mockCheck = HealthcheckOf("mockapns");
        Assert.True(mockCheck.Contains($"https://127.0.0.1:{mock["MOCKAPNS_PORT"]}/health", StringComparison.Ordinal),
            $"mockapns's healthcheck '{mockCheck}' does not probe https://127.0.0.1:{mock["MOCKAPNS_PORT"]}/health.");
        Assert.True(mockCheck.Contains($"{mock["MOCKAPNS_CERTS"]}/{MockApnsCertificates.CaFileName}", StringComparison.Ordinal),
            $"mockapns's healthcheck '{mockCheck}' does not trust the generated CA in {mock["MOCKAPNS_CERTS"]}.");
        var probe = mockCheck.Split(' ')[0];
        Assert.True(File.ReadAllText(Path.Combine(Root, "tests", "Relay.MockApns", "Dockerfile")).Contains(probe, StringComparison.Ordinal),
            $"mockapns's healthcheck runs '{probe}', which tests/Relay.MockApns/Dockerfile does not put in the image.");
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void DockerfileBuildsWithTheNet10SdkAndRunsOnTheAspNetCoreRuntime(string path)
    {
        var dockerfile = ParseDockerfile(path);

        Assert.True(dockerfile.Stages.Any(s => s.Image == "mcr.microsoft.com/dotnet/sdk:10.0"),
            $"{path} builds in no mcr.microsoft.com/dotnet/sdk:10.0 stage (FROM {string.Join(", FROM ", dockerfile.Stages.Select(s => s.Image))}).");
        Assert.True(dockerfile.FinalStage.Image == "mcr.microsoft.com/dotnet/aspnet:10.0",
            $"{path}'s final stage runs on {dockerfile.FinalStage.Image}, not mcr.microsoft.com/dotnet/aspnet:10.0.");
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void DockerfileRunsAsANonRootUserWithAHealthcheck(string path)
    {
        var final = ParseDockerfile(path).FinalStage;

        Assert.True(final.User is { Length: > 0 } user && user.Split(':')[0] is not ("root" or "0"),
            $"{path}'s final stage runs as '{final.User ?? "root (no USER)"}': it must run as the image's non-root user (USER $APP_UID).");
        Assert.True(final.Healthcheck is { Length: > 0 } check && !check.StartsWith("NONE", StringComparison.OrdinalIgnoreCase),
            $"{path}'s final stage has no HEALTHCHECK.");
        Assert.NotEmpty(final.Expose);
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void DockerfileBakesInNoSecret(string path)
    {
        foreach (var (name, value) in ParseDockerfile(path).Variables)
        {
            Assert.False(SecretName().IsMatch(name) && value.Length > 0,
                $"{path} sets {name}={value} in an ENV or ARG: secrets come from the environment or mounted files at run time.");
        }
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void DockerfileCopiesEveryProjectFileBeforeRestoring(string path)
    {
        var dockerfile = ParseDockerfile(path);
        var restoreIndex = dockerfile.Instructions.FindIndex(i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet restore", StringComparison.Ordinal));
        Assert.True(restoreIndex >= 0, $"{path} has no separate `dotnet restore` layer.");
        var copiedBeforeRestore = dockerfile.Instructions.Take(restoreIndex).Where(i => i.Keyword == "COPY")
            .SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToHashSet(StringComparer.Ordinal);

        foreach (var file in new[] { "global.json", "Directory.Build.props", "Directory.Packages.props" })
        {
            Assert.True(copiedBeforeRestore.Contains(file), $"{path} restores before copying {file}: the restore would not see it.");
        }

        var restored = RestoredProject().Matches(dockerfile.Instructions[restoreIndex].Arguments).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(restored);
        foreach (var project in restored)
        {
            Assert.True(File.Exists(Path.Combine(Root, project)), $"{path} restores {project}, which does not exist.");
        }

        foreach (var project in restored.SelectMany(ProjectClosure).Distinct(StringComparer.Ordinal))
        {
            Assert.True(copiedBeforeRestore.Contains(project),
                $"{path} restores before copying {project}: `dotnet restore` would fail on the missing project reference.");
        }
    }

    [Fact]
    public void TheRelayImageRunsTheRelayAndChecksReadinessWithRelayctl()
    {
        var dockerfile = ParseDockerfile("Dockerfile");
        var entrypoint = dockerfile.FinalStage.Instructions.Last(i => i.Keyword == "ENTRYPOINT").Arguments;
        Assert.True(entrypoint.Contains("\"dotnet\"", StringComparison.Ordinal) && entrypoint.Contains("\"Relay.Api.dll\"", StringComparison.Ordinal),
            $"the relay image's ENTRYPOINT is {entrypoint}, not [\"dotnet\", \"Relay.Api.dll\"].");
        var port = Assert.Single(dockerfile.FinalStage.Expose);
        Assert.True(dockerfile.FinalStage.Healthcheck!.Contains($"http://127.0.0.1:{port}/health/ready", StringComparison.Ordinal)
            && dockerfile.FinalStage.Healthcheck.Contains("relayctl", StringComparison.Ordinal),
            $"the relay image's HEALTHCHECK '{dockerfile.FinalStage.Healthcheck}' does not run relayctl against /health/ready on {port}.");
        Assert.Contains(dockerfile.Instructions, i => i.Keyword == "RUN" && i.Arguments.Contains("src/Relay.Ctl/Relay.Ctl.csproj", StringComparison.Ordinal));
    }

    [Fact]
    public void DockerignoreKeepsBuildOutputLocalStateAndKeysOutOfTheBuildContext()
    {
        var patterns = File.ReadAllLines(Path.Combine(Root, ".dockerignore")).Select(l => l.Trim()).ToHashSet(StringComparer.Ordinal);
        foreach (var pattern in new[] { "**/bin", "**/obj", ".dev", ".git", ".env", "**/*.p8", "**/*.pem", "**/*.key", "**/TestResults" })
        {
            Assert.True(patterns.Contains(pattern), $".dockerignore does not exclude {pattern}.");
        }
    }

    [Fact]
    public void ReadmeComposeExamplesUseRealConfigurationKeysAndDeclaredSecrets()
    {
        var start = Readme.IndexOf(ReadmeSection, StringComparison.Ordinal);
        Assert.True(start >= 0, $"README.md has no '{ReadmeSection}' section.");
        var next = Readme.IndexOf("\n## ", start + ReadmeSection.Length, StringComparison.Ordinal);
        var section = next < 0 ? Readme[start..] : Readme[start..next];
        Assert.Contains("docker compose up --build", section, StringComparison.Ordinal);

        var known = RelayConfigurationKeys();
        var examples = YamlBlock().Matches(section).Select(m => LoadYaml(m.Groups[1].Value)).ToList();
        foreach (var example in examples)
        {
            var declared = Keys(Child(example, "secrets")).Concat(Keys(Child(Compose, "secrets"))).ToHashSet(StringComparer.Ordinal);
            foreach (var (service, node) in Entries(Child(example, "services")))
            {
                foreach (var secret in SecretsOf(node))
                {
                    Assert.True(declared.Contains(secret), $"the README's compose example gives '{service}' the secret '{secret}' but declares none of that name.");
                }

                if (service != "relay")
                {
                    continue;
                }

                foreach (var key in EnvironmentOf(node).Keys)
                {
                    Assert.True(IsRelayConfigurationKey(key, known), $"the README's compose example gives relay '{key}', which is not a relay configuration key.");
                }
            }
        }
    }

    // ---- compose helpers ----

    private static YamlMappingNode Services => (YamlMappingNode)Child(Compose, "services")!;

    private static YamlNode Service(string name) =>
        Child(Services, name) ?? throw new Xunit.Sdk.XunitException($"docker-compose.yml has no service '{name}'.");

    private static IEnumerable<(string Name, YamlNode Node)> ServiceEntries() => Entries(Services);

    private static IEnumerable<(string Name, YamlNode Node)> Entries(YamlNode? node) =>
        node is YamlMappingNode map ? map.Children.Select(c => (((YamlScalarNode)c.Key).Value!, c.Value)) : [];

    private static IEnumerable<string> Keys(YamlNode? node) => Entries(node).Select(e => e.Name);

    private static YamlNode? Child(YamlNode? node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private static string? Scalar(YamlNode? node) => (node as YamlScalarNode)?.Value;

    private static YamlMappingNode LoadYaml(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static Dictionary<string, string> EnvironmentOf(string service) => EnvironmentOf(Service(service));

    private static Dictionary<string, string> EnvironmentOf(YamlNode service)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        switch (Child(service, "environment"))
        {
            case YamlMappingNode map:
                foreach (var (key, value) in Entries(map))
                {
                    environment[key] = Scalar(value) ?? "";
                }

                break;
            case YamlSequenceNode list:
                foreach (var item in list.Select(Scalar).OfType<string>())
                {
                    var equals = item.IndexOf('=', StringComparison.Ordinal);
                    environment[equals < 0 ? item : item[..equals]] = equals < 0 ? "" : item[(equals + 1)..];
                }

                break;
        }

        return environment;
    }

    private static Dictionary<string, string> DependsOn(YamlNode service) => Child(service, "depends_on") switch
    {
        YamlSequenceNode list => list.Select(Scalar).OfType<string>().ToDictionary(s => s, _ => "service_started", StringComparer.Ordinal),
        YamlMappingNode map => Entries(map).ToDictionary(e => e.Name, e => Scalar(Child(e.Node, "condition")) ?? "service_started", StringComparer.Ordinal),
        _ => new Dictionary<string, string>(StringComparer.Ordinal),
    };

    private static IEnumerable<string> SecretsOf(YamlNode service) =>
        Child(service, "secrets") is YamlSequenceNode list
            ? list.Select(s => Scalar(s) ?? Scalar(Child(s, "source"))).OfType<string>()
            : [];

    private sealed record SecretMount(string Source, string Target);

    /// <summary>A service's secrets with their targets: the short syntax, and a long one without target, use the name.</summary>
    private static IEnumerable<SecretMount> SecretMountsOf(YamlNode service) =>
        Child(service, "secrets") is YamlSequenceNode list
            ? list.Select(s => Scalar(s) is { } name
                    ? new SecretMount(name, name)
                    : Scalar(Child(s, "source")) is { } source ? new SecretMount(source, Scalar(Child(s, "target")) ?? source) : null)
                .OfType<SecretMount>()
            : [];

    private sealed record Mount(string Source, string Target, bool Named, bool ReadOnly);

    private static List<Mount> VolumesOf(YamlNode service)
    {
        var mounts = new List<Mount>();
        if (Child(service, "volumes") is not YamlSequenceNode list)
        {
            return mounts;
        }

        foreach (var item in list)
        {
            if (Scalar(item) is { } shortSyntax)
            {
                var parts = shortSyntax.Split(':');
                if (parts.Length == 1)
                {
                    continue; // an anonymous volume
                }

                var source = parts[0];
                var named = !(source.StartsWith('.') || source.StartsWith('/') || source.StartsWith('~') || source.StartsWith('$') || source.Contains('/', StringComparison.Ordinal));
                mounts.Add(new Mount(source, parts[1], named, parts.Length > 2 && parts[2].Split(',').Contains("ro")));
            }
            else
            {
                var type = Scalar(Child(item, "type")) ?? "volume";
                var readOnly = Scalar(Child(item, "read_only")) is "true" or "True";
                mounts.Add(new Mount(Scalar(Child(item, "source")) ?? "", Scalar(Child(item, "target")) ?? "", type == "volume", readOnly));
            }
        }

        return mounts;
    }

    private static List<int> PublishedTargets(string service)
    {
        var targets = new List<int>();
        if (Child(Service(service), "ports") is not YamlSequenceNode list)
        {
            return targets;
        }

        foreach (var item in list)
        {
            var target = Scalar(item) is { } shortSyntax
                ? shortSyntax.Split('/')[0].Split(':')[^1]
                : Scalar(Child(item, "target")) ?? "";
            targets.Add(int.Parse(target, CultureInfo.InvariantCulture));
        }

        return targets;
    }

    private static string HealthcheckOf(string service) => Child(Child(Service(service), "healthcheck"), "test") switch
    {
        YamlSequenceNode list => string.Join(' ', list.Select(Scalar).Skip(1)),
        YamlScalarNode scalar => scalar.Value ?? "",
        _ => "",
    };

    private static string DockerfileOf(string service)
    {
        var build = Child(Service(service), "build");
        var context = Scalar(build) ?? Scalar(Child(build, "context")) ?? ".";
        var dockerfile = Scalar(Child(build, "dockerfile")) ?? "Dockerfile";
        return Path.GetRelativePath(Root, Path.GetFullPath(Path.Combine(Root, context, dockerfile))).Replace('\\', '/');
    }

    // ---- configuration keys ----

    /// <summary>
    /// The relay's configuration keys, with array indexes as N: appsettings.json flattened, plus the settable
    /// properties of the options classes the relay binds (some keys have no appsettings.json entry, such as
    /// Apns:PingInterval, and Apns:Apps is an empty array there).
    /// </summary>
    private static HashSet<string> RelayConfigurationKeys()
    {
        var keys = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        using (var appsettings = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "src", "Relay.Api", "appsettings.json"))))
        {
            Flatten(appsettings.RootElement, "", keys);
        }

        AddProperties(typeof(ApnsOptions), ApnsOptions.SectionName, keys);
        AddProperties(typeof(ApnsAppOptions), $"{ApnsOptions.SectionName}:Apps:N", keys);
        AddProperties(typeof(AuthOptions), AuthOptions.SectionName, keys);
        AddProperties(typeof(Relay.Api.Deliveries.DeliveryOptions), Relay.Api.Deliveries.DeliveryOptions.SectionName, keys);
        AddProperties(typeof(Relay.Api.Realtime.RealtimeOptions), Relay.Api.Realtime.RealtimeOptions.SectionName, keys);
        AddProperties(typeof(Relay.Api.Realtime.InboxOptions), Relay.Api.Realtime.InboxOptions.SectionName, keys);
        AddProperties(typeof(Relay.Api.Messages.PrivacyOptions), Relay.Api.Messages.PrivacyOptions.SectionName, keys);
        return keys;
    }

    private static bool IsRelayConfigurationKey(string environmentKey, HashSet<string> known)
    {
        if (environmentKey.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || environmentKey.StartsWith("DOTNET_", StringComparison.Ordinal))
        {
            return true;
        }

        var key = Index().Replace(environmentKey.Replace("__", ":", StringComparison.Ordinal), ":N");
        // Serilog reads its whole section (Serilog:MinimumLevel:Override:..., Serilog:WriteTo:...).
        return known.Contains(key) || key.StartsWith("Serilog:", StringComparison.OrdinalIgnoreCase);
    }

    private static void Flatten(JsonElement element, string prefix, HashSet<string> keys)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Flatten(property.Value, prefix.Length == 0 ? property.Name : $"{prefix}:{property.Name}", keys);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Flatten(item, $"{prefix}:N", keys);
                }

                break;
            default:
                keys.Add(prefix);
                break;
        }
    }

    private static void AddProperties(Type type, string prefix, HashSet<string> keys)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod?.IsPublic == true))
        {
            var key = $"{prefix}:{property.Name}";
            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(List<>))
            {
                AddProperties(propertyType.GetGenericArguments()[0], $"{key}:N", keys);
            }
            else if (propertyType.IsClass && propertyType != typeof(string) && propertyType != typeof(Uri))
            {
                AddProperties(propertyType, key, keys);
            }
            else
            {
                keys.Add(key);
            }
        }
    }

    // ---- Dockerfile ----

    private sealed record Instruction(string Keyword, string Arguments);

    private sealed record Stage(string Image, List<Instruction> Instructions)
    {
        public string? User => Instructions.LastOrDefault(i => i.Keyword == "USER")?.Arguments;

        public string? Healthcheck => Instructions.LastOrDefault(i => i.Keyword == "HEALTHCHECK")?.Arguments;

        public List<int> Expose => Instructions.Where(i => i.Keyword == "EXPOSE")
            .SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(p => int.Parse(p.Split('/')[0], CultureInfo.InvariantCulture)).ToList();
    }

    private sealed record Dockerfile(List<Instruction> Instructions, List<Stage> Stages, List<(string Name, string Value)> Variables)
    {
        public Stage FinalStage => Stages[^1];

        public Dictionary<string, string> Env => Variables.GroupBy(v => v.Name, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);
    }

    /// <summary>Instructions with continuation lines joined, comments and heredoc bodies left out.</summary>
    private static Dockerfile ParseDockerfile(string path)
    {
        var lines = File.ReadAllLines(Path.Combine(Root, path));
        var instructions = new List<Instruction>();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            while (line.EndsWith('\\') && i + 1 < lines.Length)
            {
                line = line[..^1].TrimEnd() + " " + lines[++i].Trim();
            }

            if (Heredoc().Match(line) is { Success: true } heredoc)
            {
                var delimiter = heredoc.Groups[2].Value;
                while (i + 1 < lines.Length && lines[++i].Trim() != delimiter)
                {
                }
            }

            var space = line.IndexOf(' ', StringComparison.Ordinal);
            instructions.Add(space < 0
                ? new Instruction(line.ToUpperInvariant(), "")
                : new Instruction(line[..space].ToUpperInvariant(), line[(space + 1)..].Trim()));
        }

        var stages = new List<Stage>();
        var variables = new List<(string, string)>();
        foreach (var instruction in instructions)
        {
            switch (instruction.Keyword)
            {
                case "FROM":
                    var image = instruction.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                        .First(a => !a.StartsWith("--", StringComparison.Ordinal));
                    stages.Add(new Stage(image, []));
                    break;
                case "ENV" or "ARG":
                    foreach (Match assignment in Assignment().Matches(instruction.Arguments))
                    {
                        variables.Add((assignment.Groups[1].Value, assignment.Groups[2].Value.Trim('"', '\'')));
                    }

                    if (!instruction.Arguments.Contains('=', StringComparison.Ordinal) && instruction.Keyword == "ENV")
                    {
                        var parts = instruction.Arguments.Split(' ', 2);
                        variables.Add((parts[0], parts.Length > 1 ? parts[1] : ""));
                    }

                    break;
            }

            if (stages.Count > 0)
            {
                stages[^1].Instructions.Add(instruction);
            }
        }

        Assert.True(stages.Count > 0, $"{path} has no FROM.");
        return new Dockerfile(instructions, stages, variables);
    }

    /// <summary>The repository-relative paths of a project and every project it references, transitively.</summary>
    private static IEnumerable<string> ProjectClosure(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([project]);
        while (pending.TryPop(out var current))
        {
            if (!seen.Add(current))
            {
                continue;
            }

            var directory = Path.GetDirectoryName(Path.Combine(Root, current))!;
            foreach (var reference in XDocument.Load(Path.Combine(Root, current)).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")!.Value.Replace('\\', '/');
                pending.Push(Path.GetRelativePath(Root, Path.GetFullPath(Path.Combine(directory, include))).Replace('\\', '/'));
            }
        }

        return seen;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "RelayServer.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No RelayServer.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex("\"(MOCKAPNS_[A-Z0-9_]+)\"")]
    private static partial Regex MockVariable();

    [GeneratedRegex(@"^Apns__Apps__\d+__Topic$")]
    private static partial Regex AppTopic();

    [GeneratedRegex(@":(\d+)(?=:|$)")]
    private static partial Regex Index();

    [GeneratedRegex(@"^\$\{[A-Z_]+:\?[^}]*\}$")]
    private static partial Regex RequiredInterpolation();

    [GeneratedRegex(@"Password=\$\{[A-Z_]+:\?[^}]*\}")]
    private static partial Regex PasswordInterpolation();

    [GeneratedRegex(@"\.AddKeyPerFile\([^;]*""/run/secrets/?""")]
    private static partial Regex KeyPerFileRunSecrets();

    [GeneratedRegex("SigningKey|PrivateKey|Password|Secret", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    [GeneratedRegex(@"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=(""[^""]*""|'[^']*'|\S*)")]
    private static partial Regex Assignment();

    [GeneratedRegex(@"<<-?([""']?)([A-Za-z_][A-Za-z0-9_]*)\1")]
    private static partial Regex Heredoc();

    [GeneratedRegex(@"dotnet restore (\S+\.csproj)")]
    private static partial Regex RestoredProject();

    [GeneratedRegex(@"```ya?ml\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex YamlBlock();
}
