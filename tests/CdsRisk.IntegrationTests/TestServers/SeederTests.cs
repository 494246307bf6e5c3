using System.Text.Json.Nodes;

namespace CdsRisk.IntegrationTests.TestServers;

/// <summary>
/// Runs scripts/testenv/seed.py against the real servers with a stand-in phantom generator that keeps the
/// generator's contract (--out/--seed/--scenario/--layout/--today/--patient-id → dicom/*.dcm, bundle.json with the
/// {{DICOMWEB_BASE}} placeholder, expected.json). The real generator lives in models/phantoms (another part).
/// </summary>
[Collection("servers")]
public sealed class SeederTests(TestEnvironment env) : IDisposable
{
    private const string FakeGenerator = """
        # TEST DOUBLE of models/phantoms/generate.py: same command line and outputs, tiny data.
        import argparse, json, os, sys, uuid
        from pydicom.dataset import Dataset, FileMetaDataset
        from pydicom.uid import ExplicitVRLittleEndian, generate_uid
        ap = argparse.ArgumentParser()
        for a in ("--out", "--seed", "--scenario", "--layout", "--today", "--patient-id"):
            ap.add_argument(a)
        args = ap.parse_args()
        if args.scenario == "ineligible-age" and os.environ.get("FAKE_FAIL_AGE"):
            print("synthetic failure", file=sys.stderr); sys.exit(3)
        os.makedirs(os.path.join(args.out, "dicom"), exist_ok=True)
        json.dump(vars(args), open(os.path.join(args.out, "args.json"), "w"))
        study = generate_uid()
        phases = ["pre", "arterial", "portal", "delayed"]
        series_list = [generate_uid()] if args.layout == "dynamic" else [generate_uid() for _ in phases]
        for p, phase in enumerate(phases):
            series = series_list[0] if args.layout == "dynamic" else series_list[p]
            for z in range(2):
                meta = FileMetaDataset(); meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
                meta.MediaStorageSOPInstanceUID = generate_uid(); meta.TransferSyntaxUID = ExplicitVRLittleEndian
                ds = Dataset(); ds.file_meta = meta; ds.is_little_endian = True; ds.is_implicit_VR = False
                ds.SOPClassUID = meta.MediaStorageSOPClassUID; ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
                ds.PatientID = args.patient_id; ds.StudyInstanceUID = study; ds.SeriesInstanceUID = series
                ds.Modality = "MR"; ds.SeriesDescription = "DYN" if args.layout == "dynamic" else phase
                ds.InstanceNumber = p * 2 + z + 1; ds.TemporalPositionIdentifier = p + 1
                ds.Rows = 4; ds.Columns = 4; ds.BitsAllocated = 16; ds.BitsStored = 16; ds.HighBit = 15
                ds.PixelRepresentation = 0; ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = "MONOCHROME2"
                ds.PixelData = bytes(32)
                ds.save_as(os.path.join(args.out, "dicom", f"{p}-{z}.dcm"), write_like_original=False)
        pid, eid = "urn:uuid:" + str(uuid.uuid4()), "urn:uuid:" + str(uuid.uuid4())
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
          {"fullUrl": pid, "resource": {"resourceType": "Patient", "identifier": [{"system": "urn:test:phantom", "value": args.patient_id}], "birthDate": "1960-01-01"}, "request": {"method": "POST", "url": "Patient"}},
          {"fullUrl": eid, "resource": {"resourceType": "Endpoint", "status": "active", "connectionType": {"system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type", "code": "dicom-wado-rs"}, "payloadType": [{"text": "DICOM"}], "address": "{{DICOMWEB_BASE}}"}, "request": {"method": "POST", "url": "Endpoint"}},
          {"resource": {"resourceType": "ImagingStudy", "status": "available", "subject": {"reference": pid}, "endpoint": [{"reference": eid}], "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:" + study}]}, "request": {"method": "POST", "url": "ImagingStudy"}}]}
        json.dump(bundle, open(os.path.join(args.out, "bundle.json"), "w"))
        json.dump({"scenario": args.scenario, "outcome": "test"}, open(os.path.join(args.out, "expected.json"), "w"))
        """;

    private readonly string workDir = Directory.CreateTempSubdirectory("cdsrisk-seed-test-").FullName;

    public void Dispose() => Directory.Delete(workDir, recursive: true);

    private async Task<SeedResult> RunSeederAsync(string scenarios, bool failAge = false)
    {
        var generator = Path.Combine(workDir, "fake_generate.py");
        await File.WriteAllTextAsync(generator, FakeGenerator);
        var environment = failAge ? new Dictionary<string, string> { ["FAKE_FAIL_AGE"] = "1" } : null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        return await env.SeedAsync(Path.Combine(workDir, "out"), scenarios.Split(','), generator, "2026-11-27", environment, timeout.Token);
    }

    [Fact]
    public async Task Seeder_UploadsStudies_PostsBundlesWithRealEndpoint_AndWritesManifest()
    {
        var seeded = await RunSeederAsync("eligible-high-risk,eligible-dynamic-layout");
        Assert.True(seeded.ExitCode == 0, seeded.Log);
        var manifest = seeded.Manifest!;
        var patients = manifest["patients"]!.AsArray();
        Assert.Equal(["eligible-high-risk", "eligible-dynamic-layout"], patients.Select(p => (string?)p!["scenario"]));
        Assert.Empty(manifest["failed"]!.AsArray());

        var dynamic = patients[1]!;
        Assert.Equal("dynamic", (string?)dynamic["layout"]);
        var generatorArgs = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(workDir, "out", "eligible-dynamic-layout", "args.json")))!;
        Assert.Equal("dynamic", (string?)generatorArgs["layout"]);
        Assert.Equal("2026-11-27", (string?)generatorArgs["today"]);
        Assert.Equal("demo-eligible-dynamic-layout", (string?)generatorArgs["patient_id"]);
        Assert.NotEqual((int?)patients[0]!["seed"], (int?)dynamic["seed"]);

        using var dicomWeb = new HttpClient();
        foreach (var p in patients)
        {
            Assert.Equal(8, (int?)p!["dicomFiles"]);
            Assert.True(File.Exists((string?)p["expectedPath"]));
            var studyUid = (string)Assert.Single(p["studyInstanceUids"]!.AsArray())!;
            var series = JsonNode.Parse(await dicomWeb.GetStringAsync(new Uri($"{env.DicomWebBaseUrl}/studies/{studyUid}/series")))!.AsArray();
            Assert.Equal(p == dynamic ? 1 : 4, series.Count);

            var found = await env.GetFhirAsync($"ImagingStudy?patient={(string?)p["patientId"]}&_include=ImagingStudy:endpoint");
            var endpoint = found["entry"]!.AsArray().Single(e => (string?)e!["resource"]!["resourceType"] == "Endpoint")!;
            Assert.Equal(env.DicomWebBaseUrl.ToString().TrimEnd('/'), (string?)endpoint["resource"]!["address"]);
            var study = found["entry"]!.AsArray().Single(e => (string?)e!["resource"]!["resourceType"] == "ImagingStudy")!;
            Assert.Equal("urn:oid:" + studyUid, (string?)study["resource"]!["identifier"]![0]!["value"]);
        }
    }

    [Fact]
    public async Task Seeder_ExitsNonZero_AndNamesTheScenario_WhenTheGeneratorFails()
    {
        var seeded = await RunSeederAsync("low-risk,ineligible-age", failAge: true);
        Assert.Equal(1, seeded.ExitCode);
        Assert.Contains("FAILED ineligible-age", seeded.Log, StringComparison.Ordinal);
        var manifest = seeded.Manifest!;
        Assert.Equal("low-risk", (string?)Assert.Single(manifest["patients"]!.AsArray())!["scenario"]);
        Assert.Equal("ineligible-age", (string?)Assert.Single(manifest["failed"]!.AsArray()));
    }

    [Fact]
    public async Task Seeder_RefusesUnknownScenario()
    {
        var seeded = await RunSeederAsync("eligible-high-risk,not-a-scenario");
        Assert.Equal(2, seeded.ExitCode);
        Assert.Null(seeded.Manifest);
        Assert.Contains("unknown scenario(s): not-a-scenario", seeded.Log, StringComparison.Ordinal);
    }
}
