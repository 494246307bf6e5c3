using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using CdsRisk.Cli.Commands;
using CdsRisk.Cli.Demo;

namespace CdsRisk.Cli;

/// <summary>The commands of <c>cdsrisk-cli</c>: <c>dicom dump</c>, <c>study inspect</c> and <c>demo</c>.</summary>
public static class CliCommandLine
{
    /// <param name="demo">What <c>demo</c> runs (the tests give their own, so parsing can be checked without starting anything).</param>
    public static RootCommand Build(Func<DemoOptions, Task<int>>? demo = null)
    {
        var file = new Argument<string>("FILE") { Description = "the DICOM Part 10 file" };
        var dump = new Command("dump", "Prints the data set as DICOM JSON (PS3.18 Annex F, pixel data left out); exit 1 with the reason, tag and offset on refusal") { file };
        dump.SetAction(parsed => DicomDumpCommand.Run(parsed.GetRequiredValue(file), parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error));

        var dicomWeb = new Option<Uri>("--dicomweb") { Description = "the DICOMweb base URL (the only server read)", HelpName = "URL", Required = true, CustomParser = AbsoluteUrl };
        var study = new Option<string>("--study") { Description = "the Study Instance UID", HelpName = "UID", Required = true };
        var date = new Option<DateOnly?>("--date") { Description = "the evaluation date the MRI window counts from (default today)", HelpName = "YYYY-MM-DD", CustomParser = Date };
        var auth = new Option<string?>("--auth") { Description = "the Authorization header sent to the DICOMweb server", HelpName = "AUTHORIZATION HEADER" };
        var inspect = new Command("inspect", "Lists the phases found, their geometry and how they were identified, or the reasons for refusal; exit 1 when refused")
        {
            dicomWeb, study, date, auth,
        };
        inspect.SetAction(parsed => StudyInspectCommand.RunAsync(parsed.GetRequiredValue(dicomWeb), parsed.GetRequiredValue(study), parsed.GetValue(date),
            parsed.GetValue(auth), parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error));

        return new RootCommand("CdsRisk command-line tools")
        {
            new Command("dicom", "DICOM files") { dump },
            new Command("study", "Imaging studies on a DICOMweb server") { inspect },
            DemoCommandLine(demo ?? DemoCommand.RunAsync),
        };
    }

    private static Command DemoCommandLine(Func<DemoOptions, Task<int>> run)
    {
        var env = new Option<string>("--env") { Description = "env.json of the running test environment (scripts/testenv/testenv.sh start --json)", HelpName = "ENV_JSON", Required = true };
        var manifest = new Option<string>("--manifest") { Description = "manifest.json written by scripts/testenv/seed.py", HelpName = "MANIFEST_JSON", Required = true };
        var work = new Option<string>("--work")
        {
            Description = "folder for the demo's SQLite database, service log and JWKS",
            HelpName = "DIR",
            DefaultValueFactory = _ => Path.Combine(".cdsrisk", "demo"),
        };
        var api = new Option<string>("--api-project") { Description = "the service project to run", HelpName = "DIR", DefaultValueFactory = _ => Path.Combine("src", "CdsRisk.Api") };
        var only = new Option<string?>("--only") { Description = "play only these scenarios", HelpName = "scenario,..." };
        var noWait = new Option<bool>("--no-wait") { Description = "stop the service after playing instead of waiting for Ctrl-C" };
        var demo = new Command("demo", "Plays the EHR against the service started on the running test servers (./demo.sh starts everything and calls this). "
            + "Exit 0 on success, 1 when the demo could not run, 3 when some hook call did not answer 200, 4 when a scenario did not show what it was designed to show (both with --no-wait)")
        {
            env, manifest, work, api, only, noWait,
        };
        demo.SetAction(parsed => run(new DemoOptions(
            parsed.GetRequiredValue(env),
            parsed.GetRequiredValue(manifest),
            parsed.GetRequiredValue(work),
            parsed.GetRequiredValue(api),
            parsed.GetValue(only)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal),
            parsed.GetValue(noWait))));
        return demo;
    }

    private static Uri AbsoluteUrl(ArgumentResult result)
    {
        var text = result.Tokens.Single().Value;
        if (Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme is "http" or "https")
        {
            return url;
        }

        result.AddError($"--dicomweb must be an absolute http(s) URL, not '{text}'.");
        return null!;
    }

    private static DateOnly? Date(ArgumentResult result)
    {
        var text = result.Tokens.Single().Value;
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return date;
        }

        result.AddError($"--date must be a date as YYYY-MM-DD, not '{text}'.");
        return null;
    }
}
