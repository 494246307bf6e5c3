using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using CdsRisk.Api.Auth;
using CdsRisk.Api.Storage;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CdsRisk.Bench.Auth;

/// <summary>
/// What the one-use check of a token's <c>jti</c> costs per call (issue 13 item 13): the whole check of an ES384 token
/// (<see cref="CdsClientTokenValidator"/>) with the jti kept in memory only (as before) and in the service's database (SQLite, and
/// PostgreSQL when --env names the test servers), and the jti step alone. One caller, then 8 at once. Prints numbers only.
/// </summary>
public static class TokenCheckBench
{
    private const string Issuer = "https://bench-ehr.example";
    private const string Audience = "https://cds.example.org/cds-services/nct07282184-patient-view";

    public static async Task RunAsync(string? envFile)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var key = new ECDsaSecurityKey(ecdsa) { KeyId = "bench" };
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(key);
        var jwks = JsonSerializer.Serialize(new { keys = new[] { new { kty = "EC", kid = "bench", crv = jwk.Crv, x = jwk.X, y = jwk.Y } } });
        var options = new AuthOptions { Clients = [new TrustedClientOptions { Issuer = Issuer, Jwks = jwks }] };

        var folder = Directory.CreateTempSubdirectory("cdsrisk-bench-auth-").FullName;
        try
        {
            var sqlite = await OpenAsync(new StorageOptions { Sqlite = new SqliteStorageOptions { Path = Path.Combine(folder, "cdsrisk.db") } }, folder);
            var postgres = envFile is null ? null : await OpenPostgresAsync(envFile, folder);
            var stores = new List<(string Name, UsedTokenStore? Store)> { ("memory only", null), ("SQLite", new UsedTokenStore(sqlite, TimeProvider.System)) };
            if (postgres is not null)
            {
                stores.Add(("PostgreSQL", new UsedTokenStore(postgres, TimeProvider.System)));
            }

            const int n = 3000;
            var tokens = Sign(key, n * stores.Count * 3);
            var next = 0;
            foreach (var (name, store) in stores)
            {
                var replay = new JtiReplayCache(TimeProvider.System, store, NullLogger<JtiReplayCache>.Instance);
                var validator = new CdsClientTokenValidator(Options.Create(options), new JwksCache(null!, Options.Create(options), TimeProvider.System,
                    NullLogger<JwksCache>.Instance), replay, TimeProvider.System);
                var check = Slice(tokens, ref next, n);
                await MeasureAsync($"token check ({name}), 1 caller", check, 1, t => validator.ValidateAsync("Bearer " + t, Audience, CancellationToken.None).ContinueWith(r => r.Result.IsValid));
                await MeasureAsync($"token check ({name}), 8 callers", Slice(tokens, ref next, n), 8, t => validator.ValidateAsync("Bearer " + t, Audience, CancellationToken.None).ContinueWith(r => r.Result.IsValid));
                var expires = DateTimeOffset.UtcNow.AddMinutes(10);
                await MeasureAsync($"jti step alone ({name}), 1 caller", Slice(tokens, ref next, n).Select(_ => Guid.NewGuid().ToString()).ToArray(), 1,
                    jti => replay.TryUseAsync(Issuer, jti, expires, CancellationToken.None).AsTask());
                await MeasureAsync($"jti step alone ({name}), 8 callers", Enumerable.Range(0, n).Select(_ => Guid.NewGuid().ToString()).ToArray(), 8,
                    jti => replay.TryUseAsync(Issuer, jti, expires, CancellationToken.None).AsTask());
            }

            await sqlite.DisposeAsync();
            if (postgres is not null)
            {
                await postgres.DisposeAsync();
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string[] Slice(string[] all, ref int next, int count)
    {
        var slice = all[next..(next + count)];
        next += count;
        return slice;
    }

    private static string[] Sign(SecurityKey key, int count)
    {
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        var credentials = new SigningCredentials(key, SecurityAlgorithms.EcdsaSha384);
        var tokens = new string[count];
        Parallel.For(0, count, i =>
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            tokens[i] = handler.CreateToken(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["iss"] = Issuer, ["aud"] = Audience, ["iat"] = now, ["exp"] = now + 300, ["jti"] = Guid.NewGuid().ToString(),
            }), credentials);
        });
        return tokens;
    }

    private static async Task MeasureAsync(string label, string[] inputs, int callers, Func<string, Task<bool>> call)
    {
        // Warm-up on the first tenth, measured on the rest.
        var warm = inputs.Length / 10;
        for (var i = 0; i < warm; i++)
        {
            await call(inputs[i]);
        }

        var times = new double[inputs.Length - warm];
        var next = warm - 1;
        var refused = 0;
        var cpu = Environment.CpuUsage.TotalTime;
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < inputs.Length)
            {
                var start = Stopwatch.GetTimestamp();
                if (!await call(inputs[i]))
                {
                    Interlocked.Increment(ref refused);
                }

                times[i - warm] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
        }));
        var elapsed = wall.Elapsed;
        var cpuPerCall = (Environment.CpuUsage.TotalTime - cpu).TotalMicroseconds / times.Length;
        Array.Sort(times);
        string F(double v) => v.ToString("0", CultureInfo.InvariantCulture);
        Console.WriteLine($"auth: {label}: mean {F(times.Average())} µs, median {F(times[times.Length / 2])} µs, p99 {F(times[(int)(times.Length * 0.99)])} µs, "
            + $"{(times.Length / elapsed.TotalSeconds).ToString("0", CultureInfo.InvariantCulture)}/s, process CPU {F(cpuPerCall)} µs per call (n={times.Length}{(refused > 0 ? $", {refused} REFUSED" : "")})");
    }

    private static async Task<Database> OpenAsync(StorageOptions storage, string root)
    {
        var database = new Database(Options.Create(storage), new BenchEnvironment(root));
        await database.MigrateAsync(CancellationToken.None);
        return database;
    }

    private static async Task<Database?> OpenPostgresAsync(string envFile, string root)
    {
        using var env = JsonDocument.Parse(await File.ReadAllTextAsync(envFile));
        if (!env.RootElement.TryGetProperty("postgresConnectionString", out var value) || value.GetString() is not { Length: > 0 } connection)
        {
            return null;
        }

        return await OpenAsync(new StorageOptions { Provider = StorageOptions.PostgresProvider, PostgreSql = new PostgreSqlStorageOptions { ConnectionString = connection } }, root);
    }

    private sealed class BenchEnvironment(string root) : Microsoft.Extensions.Hosting.IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Production";
        public string ApplicationName { get; set; } = "bench";
        public string ContentRootPath { get; set; } = root;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
