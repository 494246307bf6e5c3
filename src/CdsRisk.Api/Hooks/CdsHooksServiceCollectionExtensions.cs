using CdsRisk.Api.Fhir;
using CdsRisk.Api.OpenApi;
using CdsRisk.Api.Pipeline;
using FluentValidation;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Hooks;

public static class CdsHooksServiceCollectionExtensions
{
    /// <summary>The CDS Hooks protocol layer: wire JSON, validators, the one exception handler, FHIR loading and the pipeline.</summary>
    public static IServiceCollection AddCdsHooks(this IServiceCollection services)
    {
        services.Configure<JsonOptions>(o => CdsHooksJson.Configure(o.SerializerOptions));
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddProblemDetails();
        services.AddExceptionHandler<CdsRiskExceptionHandler>();
        services.AddValidatorsFromAssemblyContaining<CdsServiceRequestValidator>(ServiceLifetime.Singleton, includeInternalTypes: false);
        services.TryAddSingletonTimeProvider();

        services.AddCdsRiskFhir();
        services.AddScoped<RiskPipeline>();
        return services;
    }

    /// <summary>The FHIR side: options (<c>Fhir</c> section), the typed client with one resilience pipeline per server, the prefetch-first loader.</summary>
    public static IServiceCollection AddCdsRiskFhir(this IServiceCollection services)
    {
        services.AddOptions<FhirOptions>().BindConfiguration(FhirOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<FhirOptions>, FhirOptionsValidator>();

        services.AddHttpClient<FhirFetchClient>((sp, http) =>
            {
                var o = sp.GetRequiredService<IOptions<FhirOptions>>().Value;
                http.MaxResponseContentBufferSize = o.MaxResponseBytes;
                http.Timeout = Timeout.InfiniteTimeSpan; // the resilience pipeline owns timeouts
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = System.Net.DecompressionMethods.All })
            .RemoveAllLoggers() // the default handler logs request URLs, and FHIR search URLs carry patient ids
            .AddStandardResilienceHandler()
            .Configure((HttpStandardResilienceOptions r, IServiceProvider sp) => ConfigureResilience(r, sp.GetRequiredService<IOptions<FhirOptions>>().Value.TimeoutSeconds))
            .SelectPipelineByAuthority(); // one breaker per FHIR server: a failing server never opens the circuit for another (issue 13 item 4)

        services.AddSingleton<PrefetchParseCache>();
        services.AddScoped<PatientRecordLoader>();

        // The pipeline makes the loader (and its HTTP client) only for a call it reads: a recalled settled reading needs neither.
        services.AddScoped(sp => new Lazy<PatientRecordLoader>(sp.GetRequiredService<PatientRecordLoader>));
        return services;
    }

    internal static void ConfigureResilience(HttpStandardResilienceOptions r, double totalSeconds)
    {
        var total = TimeSpan.FromSeconds(totalSeconds);
        r.TotalRequestTimeout.Timeout = total;
        r.AttemptTimeout.Timeout = total / 2;
        r.CircuitBreaker.SamplingDuration = TimeSpan.FromSeconds(Math.Max(30, totalSeconds * 2));
        r.Retry.MaxRetryAttempts = 1;
        r.Retry.Delay = TimeSpan.FromMilliseconds(100);
        r.Retry.DisableForUnsafeHttpMethods();
    }

    private static void TryAddSingletonTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }

    /// <summary>CORS on every endpoint (configuration <c>Cors:AllowedOrigins</c>; empty = any origin, without credentials).</summary>
    public static IServiceCollection AddCdsRiskCors(this IServiceCollection services, IConfiguration configuration)
    {
        var origins = configuration.GetSection("Cors:AllowedOrigins").Get<string[]>() ?? [];
        for (var i = 0; i < origins.Length; i++)
        {
            if (!Uri.TryCreate(origins[i], UriKind.Absolute, out var origin) || origin.AbsolutePath != "/" || origin.Query.Length > 0)
            {
                throw new InvalidOperationException($"Cors:AllowedOrigins:{i} must be an origin such as https://ehr.example.org (got '{origins[i]}').");
            }
        }

        services.AddCors(o => o.AddDefaultPolicy(policy =>
        {
            if (origins.Length == 0)
            {
                policy.AllowAnyOrigin();
            }
            else
            {
                policy.WithOrigins(origins);
            }

            policy.WithMethods("GET", "POST", "OPTIONS")
                .WithHeaders("authorization", "content-type", "accept")
                .WithExposedHeaders("www-authenticate")
                .SetPreflightMaxAge(TimeSpan.FromHours(1));
        }));
        return services;
    }

    /// <summary>
    /// The middleware in order: one exception handler, CORS (preflights answered here, without a token; a 401 carries the CORS
    /// headers), in Development the OpenAPI document and Swagger UI, then client authentication and authorization (every endpoint
    /// closed unless its group's policy or <c>.AllowAnonymous()</c> opens it; requests that match no endpoint fall under the fallback
    /// policy too, so no spelling of a path escapes it), then the endpoints.
    /// </summary>
    public static WebApplication UseCdsRisk(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages(async context =>
        {
            // Framework answers without a body (415 from body binding, 404 for an unknown route) get the same problem shape; 401 stays bare.
            var error = context.HttpContext.Response.StatusCode switch
            {
                StatusCodes.Status415UnsupportedMediaType => ErrorCodes.UnsupportedMediaType,
                StatusCodes.Status404NotFound => ErrorCodes.UnknownRoute,
                _ => null,
            };
            if (error is not null)
            {
                await CdsRiskExceptionHandler.WriteProblemAsync(context.HttpContext, error, error.Title + ".");
            }
        });
        app.UseCors();
        if (app.Environment.IsDevelopment())
        {
            app.UseCdsRiskOpenApi();
        }

        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }
}
