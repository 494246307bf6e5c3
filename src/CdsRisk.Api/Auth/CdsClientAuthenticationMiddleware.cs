using CdsRisk.Api.Diagnostics;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Auth;

/// <summary>Checks the CDS Client's JWT on every <c>/cds-services</c> call, discovery included. Failure: a bare 401.</summary>
public sealed class CdsClientAuthenticationMiddleware(RequestDelegate next, IOptions<AuthOptions> options, ILogger<CdsClientAuthenticationMiddleware> logger)
{
    private readonly AuthOptions _options = options.Value;

    public async Task InvokeAsync(HttpContext context, CdsClientTokenValidator validator)
    {
        if (_options.Mode == AuthMode.Disabled
            || !context.Request.Path.StartsWithSegments("/cds-services", StringComparison.Ordinal)
            || HttpMethods.IsOptions(context.Request.Method))
        {
            await next(context);
            return;
        }

        var reason = await validator.ValidateAsync(context.Request.Headers.Authorization, CalledUrl(context), context.RequestAborted);
        if (reason is not null)
        {
            logger.TokenRejected(context.Request.Path, reason);
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return;
        }

        await next(context);
    }

    /// <summary>The exact URL the client called, which <c>aud</c> must equal (query excluded).</summary>
    public string CalledUrl(HttpContext context) => CalledUrlOf(context, _options.PublicBaseUrl);

    /// <summary>The URL called (query excluded): from the request, or under <c>Auth:PublicBaseUrl</c> behind a proxy.</summary>
    public static string CalledUrlOf(HttpContext context, string? publicBaseUrl)
    {
        var request = context.Request;
        var path = (request.PathBase + request.Path).ToUriComponent();
        return string.IsNullOrEmpty(publicBaseUrl)
            ? $"{request.Scheme}://{request.Host.ToUriComponent()}{path}"
            : publicBaseUrl.TrimEnd('/') + path;
    }
}
