using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;

namespace CdsRisk.IntegrationTests.DicomWeb;

/// <summary>
/// A private Orthanc with the DICOMweb plugin on a free loopback port, temp storage, no DICOM listener; killed on dispose.
/// Small and self-contained so that a shared test environment can replace it.
/// </summary>
public sealed class OrthancFixture : IAsyncLifetime
{
    private const string Plugin = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "cdsrisk-orthanc-" + Guid.NewGuid().ToString("N"));
    private Process? _process;

    public Uri RestUrl { get; private set; } = null!;

    public Uri DicomWebUrl { get; private set; } = null!;

    public HttpClient Rest { get; } = new();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var port = FreePort();
        var config = new
        {
            Name = "cdsrisk-test",
            HttpPort = port,
            DicomServerEnabled = false,
            RemoteAccessAllowed = false,
            AuthenticationEnabled = false,
            StorageDirectory = Path.Combine(_directory, "db"),
            IndexDirectory = Path.Combine(_directory, "db"),
            Plugins = new[] { Plugin },
            DicomWeb = new { Enable = true },
        };
        var configPath = Path.Combine(_directory, "orthanc.json");
        await File.WriteAllTextAsync(configPath, JsonSerializer.Serialize(config));
        _process = Process.Start(new ProcessStartInfo("Orthanc", configPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("Orthanc did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        RestUrl = new Uri($"http://127.0.0.1:{port}/");
        DicomWebUrl = new Uri($"http://127.0.0.1:{port}/dicom-web");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var response = await Rest.GetAsync(new Uri(RestUrl, "system"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
            }

            if (DateTime.UtcNow >= deadline || _process.HasExited)
            {
                throw new InvalidOperationException("Orthanc did not answer /system within 20 s");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Stores one Part 10 file through Orthanc's REST API.</summary>
    public async Task UploadAsync(byte[] part10)
    {
        using var content = new ByteArrayContent(part10);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/dicom");
        using var response = await Rest.PostAsync(new Uri(RestUrl, "instances"), content);
        response.EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        Rest.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class OrthancCollection : ICollectionFixture<OrthancFixture>
{
    public const string Name = "orthanc-dicomweb";
}
