using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace Relay.Api.Configuration;

/// <summary>
/// The OpenAPI document at <c>/openapi/v1.json</c>: every endpoint with its requests, responses and problems, the
/// bearer scheme on the endpoints that need it, and the problems every endpoint may answer (400, 429); and its
/// reference page at <c>/docs</c>.
/// </summary>
public static class OpenApiSetup
{
    private const string Bearer = "Bearer";

    public static IServiceCollection AddRelayOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Relay API",
                    Version = "v1",
                    Description = "Pushes end-to-end-encrypted messages to iOS devices through APNs. Create an account with an "
                        + "Ed25519 identity key, sign a challenge for a bearer token, register the device's APNs token, then post "
                        + "ciphertexts to other accounts. Every error is application/problem+json (RFC 9457).",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[Bearer] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    BearerFormat = "JWT",
                    Description = "The accessToken from POST /v1/auth/token.",
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                operation.Responses ??= new OpenApiResponses();
                if (metadata.OfType<IAuthorizeData>().Any())
                {
                    operation.Security ??= [];
                    operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Bearer, context.Document)] = [] });
                    operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No valid bearer token." });
                }

                if (context.Description.RelativePath?.StartsWith("v1/", StringComparison.Ordinal) == true)
                {
                    operation.Responses.TryAdd("429", new OpenApiResponse { Description = "Rate limited: retry after the Retry-After header." });
                }

                return Task.CompletedTask;
            });
        });

    /// <summary>
    /// The API reference page (Scalar) at <c>/docs</c>, self-contained: none of Scalar's cloud features (the AI chat,
    /// the MCP integration, the toolbar that deploys, shares or generates SDKs through Scalar's service, the button that
    /// opens the document in Scalar's hosted client), no telemetry
    /// and no fonts from Scalar's CDN. A relay for end-to-end-encrypted messengers sends its users' browsers nowhere else.
    /// </summary>
    public static IEndpointConventionBuilder MapRelayApiReference(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapScalarApiReference("/docs", docs => docs
            .WithTitle("Relay API")
            .ExpandAllTags()
            .DisableAgent()
            .DisableMcp()
            .HideDeveloperTools()
            .HideClientButton()
            .DisableTelemetry()
            .DisableDefaultFonts());
}
