using CdsRisk.Api.Audit;
using CdsRisk.Api.Diagnostics;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Auth;

public static class AuthServiceCollectionExtensions
{
    /// <summary>
    /// Client authentication and authorization (sections <c>Auth</c>, <c>Audit:Clients</c>, <c>Scoring:Clients</c>) through ASP.NET
    /// Core's own pipeline: one scheme and one policy per kind of client, and a fallback policy that requires a CDS client, so an
    /// endpoint is closed until it names its policy or is marked <c>.AllowAnonymous()</c>.
    /// </summary>
    public static IServiceCollection AddCdsClientAuthentication(this IServiceCollection services)
    {
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuditOptions>, AuditOptionsValidator>();
        services.AddOptions<ScoringClientsOptions>().BindConfiguration(ScoringClientsOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ScoringClientsOptions>, ScoringClientsOptionsValidator>();

        services.AddSingleton<JtiReplayCache>();
        services.AddHostedService<UsedTokenSweeper>();
        services.AddSingleton<JwksCache>();
        services.AddSingleton<ClientTokenValidators>();
        services.AddHttpClient(JwksCache.HttpClientName, http =>
            {
                http.Timeout = Timeout.InfiniteTimeSpan;
                http.MaxResponseContentBufferSize = JwksCache.MaxDocumentBytes;
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false })
            .RemoveAllLoggers()
            .AddStandardResilienceHandler()
            .Configure((HttpStandardResilienceOptions r, IServiceProvider sp) =>
                CdsRisk.Api.Hooks.CdsHooksServiceCollectionExtensions.ConfigureResilience(r, sp.GetRequiredService<IOptions<AuthOptions>>().Value.JwksTimeoutSeconds))
            .SelectPipelineByAuthority(); // one breaker per JWKS host: one client's failing key server never blocks another's

        var authentication = services.AddAuthentication();
        var authorization = services.AddAuthorizationBuilder();
        foreach (var kind in Enum.GetValues<ClientKind>())
        {
            var scheme = ClientSchemes.Of(kind);
            authentication.AddScheme<ClientAuthenticationOptions, ClientAuthenticationHandler>(scheme, o => o.Kind = kind);
            authorization.AddPolicy(scheme, policy => policy
                .AddAuthenticationSchemes(scheme)
                .RequireAuthenticatedUser()
                .RequireClaim(ClientClaims.Kind, ClientClaims.KindValue(kind)));
        }

        // Every endpoint without a policy of its own, and every request that matches none (unknown paths, any spelling).
        authorization.SetFallbackPolicy(new AuthorizationPolicyBuilder(ClientSchemes.Cds)
            .RequireAuthenticatedUser()
            .RequireClaim(ClientClaims.Kind, ClientClaims.KindValue(ClientKind.Cds))
            .Build());

        services.AddHostedService<AuthModeAnnouncer>();
        return services;
    }
}

/// <summary>Says loudly, at every start, when authentication is off.</summary>
internal sealed class AuthModeAnnouncer(IOptions<AuthOptions> options, ILogger<AuthModeAnnouncer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Mode == AuthMode.Disabled)
        {
            logger.AuthDisabled();
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
