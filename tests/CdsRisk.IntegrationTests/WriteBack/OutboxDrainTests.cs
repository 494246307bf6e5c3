using System.Diagnostics;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Storage;
using CdsRisk.Api.WriteBack;
using CdsRisk.IntegrationTests.Hooks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CdsRisk.IntegrationTests.WriteBack;

/// <summary>Issue 13 item 10: the outbox drains each FHIR server on its own, so a slow server delays only its own writes.</summary>
public sealed class OutboxDrainTests : IDisposable
{
    private const string Written = """{"resourceType":"Bundle","type":"transaction-response","entry":[{"response":{"status":"201","location":"RiskAssessment/ra-1/_history/1"}}]}""";
    private readonly string _root = Directory.CreateTempSubdirectory("cdsrisk-outbox-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task OutboxHeadOfLineBlocking_ASlowServer_DoesNotDelayAnotherServersWrite()
    {
        using var release = new SemaphoreSlim(0);
        await using var slow = await LoopbackHttpServer.StartAsync(async context =>
        {
            await release.WaitAsync(TimeSpan.FromSeconds(20));
            await Respond(context);
        });
        await using var fast = await LoopbackHttpServer.StartAsync(Respond);
        var (writer, outbox) = await WriterAsync(slow.BaseAddress, fast.BaseAddress, timeoutSeconds: 30);

        // Three items for the slow server queued first, then one for the healthy one.
        for (var i = 0; i < 3; i++)
        {
            await outbox.EnqueueAsync($"slow-{i}", OutboxWriter.TransactionKind, slow.BaseAddress.AbsoluteUri, "{}", CancellationToken.None);
        }

        await outbox.EnqueueAsync("fast-0", OutboxWriter.TransactionKind, fast.BaseAddress.AbsoluteUri, "{}", CancellationToken.None);
        var drain = writer.DrainAsync(CancellationToken.None);
        var clock = Stopwatch.StartNew();
        while ((await outbox.GetAsync("fast-0", CancellationToken.None))!.State != OutboxState.Written && clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(50);
        }

        Assert.Equal(OutboxState.Written, (await outbox.GetAsync("fast-0", CancellationToken.None))!.State);
        Assert.Equal(OutboxState.Pending, (await outbox.GetAsync("slow-2", CancellationToken.None))!.State);
        release.Release(3);
        await drain;
    }

    [Fact]
    public async Task AFailingServer_BacksOffAsAWhole_WhileTheOtherServersItemsAreWritten()
    {
        var failing = 0;
        await using var down = await LoopbackHttpServer.StartAsync(context =>
        {
            Interlocked.Increment(ref failing);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return Task.CompletedTask;
        });
        await using var up = await LoopbackHttpServer.StartAsync(Respond);
        var (writer, outbox) = await WriterAsync(down.BaseAddress, up.BaseAddress, timeoutSeconds: 5);
        for (var i = 0; i < 4; i++)
        {
            await outbox.EnqueueAsync($"down-{i}", OutboxWriter.TransactionKind, down.BaseAddress.AbsoluteUri, "{}", CancellationToken.None);
            await outbox.EnqueueAsync($"up-{i}", OutboxWriter.TransactionKind, up.BaseAddress.AbsoluteUri, "{}", CancellationToken.None);
        }

        var written = await writer.DrainAsync(CancellationToken.None);

        Assert.Equal(4, written);
        Assert.Equal(1, Volatile.Read(ref failing)); // the first failure holds back the server's other items
        var held = await outbox.GetAsync("down-3", CancellationToken.None);
        Assert.Equal((OutboxState.Pending, 0), (held!.State, held.Attempts));
    }

    private static async Task Respond(HttpContext context)
    {
        context.Response.ContentType = "application/fhir+json";
        await context.Response.WriteAsync(Written);
    }

    private async Task<(OutboxWriter Writer, OutboxStore Outbox)> WriterAsync(Uri first, Uri second, int timeoutSeconds)
    {
        var database = new Database(Options.Create(new StorageOptions { Sqlite = new SqliteStorageOptions { Path = "outbox.db" } }), new Environment(_root));
        await database.MigrateAsync(CancellationToken.None);
        var services = new ServiceCollection().AddHttpClient().BuildServiceProvider();
        var writeBack = Options.Create(new WriteBackOptions
        {
            TimeoutSeconds = timeoutSeconds,
            BackendClients =
            [
                new BackendClientOptions { FhirServer = first.AbsoluteUri, TokenUrl = "http://127.0.0.1/unused", ClientId = "a", AccessToken = "token-a" },
                new BackendClientOptions { FhirServer = second.AbsoluteUri, TokenUrl = "http://127.0.0.1/unused", ClientId = "b", AccessToken = "token-b" },
            ],
        });
        var http = services.GetRequiredService<IHttpClientFactory>();
        var outbox = new OutboxStore(database, TimeProvider.System);
        var writer = new OutboxWriter(outbox, new LeaseStore(database, TimeProvider.System), new ScoreCacheStore(database, TimeProvider.System),
            new FhirCredentials(writeBack, http, TimeProvider.System), http, writeBack,
            Options.Create(new FhirOptions { AllowedServers = [first.AbsoluteUri, second.AbsoluteUri] }), TimeProvider.System, NullLogger<OutboxWriter>.Instance);
        return (writer, outbox);
    }

    private sealed class Environment(string root) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Testing";
        public string ApplicationName { get; set; } = "tests";
        public string ContentRootPath { get; set; } = root;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
