import { createRegistry, toBinary, type DescFile, type DescService, type Registry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";

/** A reflection request's `message_request`, the same in `v1` and `v1alpha`. */
export type ReflectionQuery =
  | { case: "fileByFilename"; value: string }
  | { case: "fileContainingSymbol"; value: string }
  | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
  | { case: "allExtensionNumbersOfType"; value: string }
  | { case: "listServices"; value: string }
  | { case: undefined; value?: undefined };

/** A reflection response's `message_response`, the same in `v1` and `v1alpha`. */
export type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/**
 * Answers server reflection queries about the served services. It indexes every file reachable
 * from them (their imports too, down to `google/protobuf/*`) once, with each file's serialized
 * descriptor, so tools such as `buf curl` and grpcurl can call the server without local protos.
 */
export class ReflectionIndex {
  private readonly serviceNames: string[];
  private readonly files = new Map<string, DescFile>();
  private readonly encoded = new Map<DescFile, Uint8Array>();
  private readonly registry: Registry;

  constructor(services: readonly DescService[]) {
    this.serviceNames = services.map((s) => s.typeName);
    for (const service of services) this.addFile(service.file);
    this.registry = createRegistry(...this.files.values());
  }

  /** The answer to one query; lookups that find nothing answer with a `NOT_FOUND` error. */
  answer(query: ReflectionQuery): ReflectionAnswer {
    switch (query.case) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: this.serviceNames.map((name) => ({ name })) } };
      case "fileByFilename":
        return this.fileAnswer(this.files.get(query.value), `file ${query.value}`);
      case "fileContainingSymbol":
        return this.fileAnswer(this.fileOfSymbol(query.value), `symbol ${query.value}`);
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = query.value;
        const extendee = this.registry.getMessage(containingType);
        const extension = extendee && this.registry.getExtensionFor(extendee, extensionNumber);
        return this.fileAnswer(extension?.file, `extension ${extensionNumber} of ${containingType}`);
      }
      case "allExtensionNumbersOfType":
        return this.extensionNumbers(query.value);
      default:
        return errorAnswer(Code.InvalidArgument, "empty reflection request");
    }
  }

  private addFile(file: DescFile): void {
    if (this.files.has(file.proto.name)) return;
    this.files.set(file.proto.name, file);
    this.encoded.set(file, toBinary(FileDescriptorProtoSchema, file.proto));
    for (const dep of file.dependencies) this.addFile(dep);
  }

  /** A type, service or method name, e.g. `taskflow.v1.SchedulerService.SubmitJob`. */
  private fileOfSymbol(symbol: string): DescFile | undefined {
    const desc = this.registry.get(symbol);
    if (desc !== undefined) return desc.file;
    const dot = symbol.lastIndexOf(".");
    const service = this.registry.getService(symbol.slice(0, dot));
    return service?.methods.some((m) => m.name === symbol.slice(dot + 1)) ? service.file : undefined;
  }

  /** The file first, then every file it imports, each once: all a client needs to decode it. */
  private fileAnswer(file: DescFile | undefined, what: string): ReflectionAnswer {
    if (file === undefined) return errorAnswer(Code.NotFound, `${what} not found`);
    const closure = new Set<DescFile>();
    const visit = (f: DescFile): void => {
      if (closure.has(f)) return;
      closure.add(f);
      f.dependencies.forEach(visit);
    };
    visit(file);
    const fileDescriptorProto = [...closure].map((f) => this.encoded.get(f) ?? new Uint8Array());
    return { case: "fileDescriptorResponse", value: { fileDescriptorProto } };
  }

  private extensionNumbers(typeName: string): ReflectionAnswer {
    if (this.registry.getMessage(typeName) === undefined) {
      return errorAnswer(Code.NotFound, `type ${typeName} not found`);
    }
    const extensionNumber: number[] = [];
    for (const desc of this.registry) {
      if (desc.kind === "extension" && desc.extendee.typeName === typeName) extensionNumber.push(desc.number);
    }
    return { case: "allExtensionNumbersResponse", value: { baseTypeName: typeName, extensionNumber } };
  }
}

function errorAnswer(code: Code, errorMessage: string): ReflectionAnswer {
  return { case: "errorResponse", value: { errorCode: code, errorMessage } };
}
