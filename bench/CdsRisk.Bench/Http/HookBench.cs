using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CdsRisk.Bench.Http;

/// <summary>
/// Warm patient-view with full prefetch and a cached score, through the real service (its own process, JWT client auth on),
/// at N concurrent connections, next to a bare Kestrel endpoint answering {"cards":[]} in the same run.
/// Needs the test servers and one seeded patient (bench/run.sh provides both).
/// </summary>
public static class HookBench
{
    private const string Issuer = "https://bench.cdsrisk.local";

    public static async Task RunAsync(string envFile, string patientId, int connections, TimeSpan duration)
    {
        var env = JsonNode.Parse(await File.ReadAllTextAsync(envFile))!;
        var fhir = env["fhirBaseUrl"]!.GetValue<string>();
        var fhirToken = env["fhirToken"]!.GetValue<string>();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var signingKey = new ECDsaSecurityKey(key) { KeyId = "bench-key" };
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(signingKey);
        var jwks = JsonSerializer.Serialize(new { keys = new[] { new { kty = jwk.Kty, crv = jwk.Crv, x = jwk.X, y = jwk.Y, kid = jwk.Kid, use = "sig", alg = "ES384" } } });

        var port = FreePort();
        var baseUrl = new Uri($"http://127.0.0.1:{port}/");
        using var service = StartService(port, new Dictionary<string, string>
        {
            ["Auth__Mode"] = "Required",
            ["Auth__Clients__0__Issuer"] = Issuer,
            ["Auth__Clients__0__Jwks"] = jwks,
            ["Fhir__AllowedServers__0"] = fhir,
            ["DicomWeb__AllowedServers__0"] = env["dicomWebBaseUrl"]!.GetValue<string>(),
            ["Storage__Sqlite__Path"] = Path.Combine(Path.GetTempPath(), "cdsrisk-bench-" + Guid.NewGuid().ToString("N"), "cdsrisk.db"),
            ["Pipeline__LatencyBudgetMilliseconds"] = "30000",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        try
        {
            await WaitHealthyAsync(baseUrl);
            var handler = new JsonWebTokenHandler();
            string Sign(Uri url) => handler.CreateToken(new SecurityTokenDescriptor
            {
                Issuer = Issuer,
                Audience = url.AbsoluteUri,
                IssuedAt = DateTime.UtcNow,
                Expires = DateTime.UtcNow.AddMinutes(5),
                Claims = new Dictionary<string, object> { ["jti"] = Guid.NewGuid().ToString("N") },
                SigningCredentials = new SigningCredentials(signingKey, SecurityAlgorithms.EcdsaSha384),
            });

            using var http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(120) };
            var discoveryUrl = new Uri(baseUrl, "cds-services");
            using var discoveryRequest = new HttpRequestMessage(HttpMethod.Get, discoveryUrl);
            discoveryRequest.Headers.Authorization = new("Bearer", Sign(discoveryUrl));
            using var discovery = await http.SendAsync(discoveryRequest);
            var templates = JsonNode.Parse(await discovery.Content.ReadAsStringAsync())!["services"]![0]!["prefetch"]!.AsObject();
            using var fhirClient = new HttpClient();
            fhirClient.DefaultRequestHeaders.Authorization = new("Bearer", fhirToken);
            var prefetch = new JsonObject();
            foreach (var (name, template) in templates)
            {
                var query = template!.GetValue<string>().Replace("{{context.patientId}}", patientId, StringComparison.Ordinal);
                prefetch[name] = JsonNode.Parse(await fhirClient.GetStringAsync(new Uri(fhir.TrimEnd('/') + "/" + query)));
            }

            var hookUrl = new Uri(baseUrl, "cds-services/nct07282184-patient-view");
            var body = new JsonObject
            {
                ["hook"] = "patient-view",
                ["hookInstance"] = Guid.NewGuid().ToString(),
                ["fhirServer"] = fhir,
                ["fhirAuthorization"] = new JsonObject { ["access_token"] = fhirToken, ["token_type"] = "Bearer", ["expires_in"] = 300, ["scope"] = "user/*.read user/RiskAssessment.write", ["subject"] = "bench" },
                ["context"] = new JsonObject { ["userId"] = "Practitioner/bench", ["patientId"] = patientId },
                ["prefetch"] = prefetch,
            }.ToJsonString();

            // Cold call: the service retrieves the study, scores it and caches the score.
            var cold = Stopwatch.StartNew();
            using (var first = new HttpRequestMessage(HttpMethod.Post, hookUrl) { Content = new StringContent(body, Encoding.UTF8, "application/json") })
            {
                first.Headers.Authorization = new("Bearer", Sign(hookUrl));
                using var response = await http.SendAsync(first);
                var text = await response.Content.ReadAsStringAsync();
                Console.WriteLine($"cold patient-view (retrieve + score + cache): {cold.Elapsed.TotalMilliseconds:F0} ms, HTTP {(int)response.StatusCode}, outcome {JsonNode.Parse(text)?["cards"]?[0]?["extension"]?["cdsrisk"]?["outcome"]}");
            }

            // A new hook instance per call, as an EHR sends them: each call is the full pipeline and one audit record.
            var instance = JsonNode.Parse(body)!["hookInstance"]!.GetValue<string>();
            var warm = await LoadGenerator.RunAsync("patient-view (warm, prefetch, JWT)", baseUrl, () =>
            {
                var fresh = body.Replace(instance, Guid.NewGuid().ToString(), StringComparison.Ordinal);
                var request = new HttpRequestMessage(HttpMethod.Post, hookUrl) { Content = new StringContent(fresh, Encoding.UTF8, "application/json") };
                request.Headers.Authorization = new("Bearer", Sign(hookUrl));
                return request;
            }, connections, TimeSpan.FromSeconds(3), duration);

            await using var bare = await BareEndpoint.StartAsync();
            var bareUrl = new Uri(bare.Address, "cds-services/bare");
            var floor = await LoadGenerator.RunAsync("bare Kestrel {\"cards\":[]}", bare.Address, () =>
                new HttpRequestMessage(HttpMethod.Post, bareUrl) { Content = new StringContent(body, Encoding.UTF8, "application/json") },
                connections, TimeSpan.FromSeconds(3), duration);

            Console.WriteLine(warm);
            Console.WriteLine(floor);
            Console.WriteLine($"throughput ratio (service / bare): {warm.RequestsPerSecond / floor.RequestsPerSecond:P1} (target >= 30%); service p99 {warm.Percentile(99):F1} ms (target <= 25 ms)");
        }
        finally
        {
            if (!service.HasExited)
            {
                service.Kill(entireProcessTree: true);
            }
        }
    }

    private static Process StartService(int port, Dictionary<string, string> environment)
    {
        var api = Path.Combine(AppContext.BaseDirectory, "CdsRisk.Api.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = AppContext.BaseDirectory };
        start.ArgumentList.Add(api);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (k, v) in environment)
        {
            start.Environment[k] = v;
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                Console.Error.WriteLine("service: " + line);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitHealthyAsync(Uri baseUrl)
    {
        using var http = new HttpClient();
        for (var i = 0; i < 300; i++)
        {
            try
            {
                using var health = await http.GetAsync(new Uri(baseUrl, "healthz"));
                if (health.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        throw new InvalidOperationException("the service did not become healthy");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
