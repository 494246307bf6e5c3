using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace CdsRisk.Bench.Http;

/// <summary>The floor to compare against: Kestrel on loopback answering every POST with {"cards":[]} (or a given answer).</summary>
internal sealed class BareEndpoint : IAsyncDisposable
{
    private static readonly byte[] EmptyCards = Encoding.UTF8.GetBytes("{\"cards\":[]}");
    private readonly WebApplication _app;

    private BareEndpoint(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>Answers <paramref name="answer"/> (default <c>{"cards":[]}</c>) to every POST.</summary>
    public static async Task<BareEndpoint> StartAsync(byte[]? answer = null)
    {
        var body = answer ?? EmptyCards;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1));
        var app = builder.Build();
        app.MapPost("/cds-services/{id}", async (HttpContext context) =>
        {
            // Read the body as the real service must, then answer the empty response.
            await context.Request.Body.CopyToAsync(Stream.Null);
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(body);
        });
        await app.StartAsync();
        var address = new Uri(app.Urls.First() + "/");
        return new BareEndpoint(app, address);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
