Console.Error.WriteLine("usage: cdsrisk-cli dicom dump FILE | study inspect --dicomweb URL --study UID");
return 2;
