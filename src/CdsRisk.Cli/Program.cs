using CdsRisk.Cli.Commands;
using CdsRisk.Cli.Demo;

return args switch
{
    ["dicom", "dump", var file, ..] => DicomDumpCommand.Run(file, Console.Out, Console.Error),
    ["study", "inspect", .. var rest] => await StudyInspectCommand.RunAsync(rest, Console.Out, Console.Error),
    ["demo", ..] => await DemoCommand.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage:
          cdsrisk-cli dicom dump FILE
              prints the data set as DICOM JSON (PS3.18 Annex F, pixel data left out); exit 1 with the reason, tag and offset on refusal
          cdsrisk-cli study inspect --dicomweb URL --study UID [--date YYYY-MM-DD] [--auth "AUTHORIZATION HEADER"]
              lists the phases found, their geometry and how they were identified, or the reasons for refusal; exit 1 when refused
          cdsrisk-cli demo ...
              plays the EHR against a running service (./demo.sh starts everything and calls this)
        """);
    return 2;
}
