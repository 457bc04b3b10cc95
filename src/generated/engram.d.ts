import * as $protobuf from "protobufjs";
import Long = require("long");

/** Namespace engram. */
export namespace engram {

    /** Namespace v3. */
    namespace v3 {

        /** WorkUnitType enum. */
        enum WorkUnitType {

            /** WORK_UNIT_TYPE_UNSPECIFIED value */
            WORK_UNIT_TYPE_UNSPECIFIED = 0,

            /** WORK_UNIT_TYPE_MESSAGE value */
            WORK_UNIT_TYPE_MESSAGE = 1,

            /** WORK_UNIT_TYPE_REASONING value */
            WORK_UNIT_TYPE_REASONING = 2,

            /** WORK_UNIT_TYPE_TOOL_CALL value */
            WORK_UNIT_TYPE_TOOL_CALL = 3,

            /** WORK_UNIT_TYPE_TOOL_RESULT value */
            WORK_UNIT_TYPE_TOOL_RESULT = 4,

            /** WORK_UNIT_TYPE_FILE_CHANGE value */
            WORK_UNIT_TYPE_FILE_CHANGE = 5,

            /** WORK_UNIT_TYPE_TASK_STATUS value */
            WORK_UNIT_TYPE_TASK_STATUS = 6,

            /** WORK_UNIT_TYPE_ERROR value */
            WORK_UNIT_TYPE_ERROR = 7,

            /** WORK_UNIT_TYPE_SYSTEM value */
            WORK_UNIT_TYPE_SYSTEM = 8,

            /** WORK_UNIT_TYPE_SUMMARY value */
            WORK_UNIT_TYPE_SUMMARY = 9,

            /** WORK_UNIT_TYPE_APPROVAL_REQUEST value */
            WORK_UNIT_TYPE_APPROVAL_REQUEST = 10,

            /** WORK_UNIT_TYPE_APPROVAL_DECISION value */
            WORK_UNIT_TYPE_APPROVAL_DECISION = 11
        }

        /** RelationshipType enum. */
        enum RelationshipType {

            /** RELATIONSHIP_TYPE_UNSPECIFIED value */
            RELATIONSHIP_TYPE_UNSPECIFIED = 0,

            /** RELATIONSHIP_TYPE_SEQUENTIAL value */
            RELATIONSHIP_TYPE_SEQUENTIAL = 1,

            /** RELATIONSHIP_TYPE_CAUSES value */
            RELATIONSHIP_TYPE_CAUSES = 2,

            /** RELATIONSHIP_TYPE_DEPENDS_ON value */
            RELATIONSHIP_TYPE_DEPENDS_ON = 3,

            /** RELATIONSHIP_TYPE_REFERENCES value */
            RELATIONSHIP_TYPE_REFERENCES = 4,

            /** RELATIONSHIP_TYPE_RESPONDS_TO value */
            RELATIONSHIP_TYPE_RESPONDS_TO = 5,

            /** RELATIONSHIP_TYPE_MODIFIES value */
            RELATIONSHIP_TYPE_MODIFIES = 6,

            /** RELATIONSHIP_TYPE_REPLACES value */
            RELATIONSHIP_TYPE_REPLACES = 7
        }

        /**
         * Properties of a Payload.
         * @deprecated Use engram.v3.Payload.$Properties instead.
         */
        interface IPayload extends engram.v3.Payload.$Properties {
        }

        /** Represents a Payload. */
        class Payload {

            /**
             * Constructs a new Payload.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.Payload.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** Payload json. */
            json?: (string|null);

            /** Payload binary. */
            binary?: (engram.v3.BinaryPayload.$Properties|null);

            /** Payload kind. */
            kind?: ("json"|"binary");

            /**
             * Creates a new Payload instance using the specified properties.
             * @param [properties] Properties to set
             * @returns Payload instance
             */
            static create(properties: engram.v3.Payload.$Shape): engram.v3.Payload & engram.v3.Payload.$Shape;
            static create(properties?: engram.v3.Payload.$Properties): engram.v3.Payload;

            /**
             * Encodes the specified Payload message. Does not implicitly {@link engram.v3.Payload.verify|verify} messages.
             * @param message Payload message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.Payload.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a Payload message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.Payload & engram.v3.Payload.$Shape} Payload
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.Payload & engram.v3.Payload.$Shape;

            /**
             * Gets the type url for Payload
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace Payload {

            /** Properties of a Payload. */
            interface $Properties {

                /** Payload json */
                json?: (string|null);

                /** Payload binary */
                binary?: (engram.v3.BinaryPayload.$Properties|null);

                /** Payload kind */
                kind?: ("json"|"binary");

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Narrowed shape of a Payload. */
            type $Shape = {
              json?: string|null;
              binary?: engram.v3.BinaryPayload.$Shape|null;
              $unknowns?: Uint8Array[];
            } & (
              ({ kind?: undefined; json?: null; binary?: null }|{ kind?: "json"; json: string; binary?: null }|{ kind?: "binary"; json?: null; binary: engram.v3.BinaryPayload.$Shape })
            );
        }

        /**
         * Properties of a BinaryPayload.
         * @deprecated Use engram.v3.BinaryPayload.$Properties instead.
         */
        interface IBinaryPayload extends engram.v3.BinaryPayload.$Properties {
        }

        /** Represents a BinaryPayload. */
        class BinaryPayload {

            /**
             * Constructs a new BinaryPayload.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.BinaryPayload.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** BinaryPayload data. */
            data: Uint8Array;

            /** BinaryPayload contentType. */
            contentType: string;

            /**
             * Creates a new BinaryPayload instance using the specified properties.
             * @param [properties] Properties to set
             * @returns BinaryPayload instance
             */
            static create(properties: engram.v3.BinaryPayload.$Shape): engram.v3.BinaryPayload & engram.v3.BinaryPayload.$Shape;
            static create(properties?: engram.v3.BinaryPayload.$Properties): engram.v3.BinaryPayload;

            /**
             * Encodes the specified BinaryPayload message. Does not implicitly {@link engram.v3.BinaryPayload.verify|verify} messages.
             * @param message BinaryPayload message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.BinaryPayload.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a BinaryPayload message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.BinaryPayload & engram.v3.BinaryPayload.$Shape} BinaryPayload
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.BinaryPayload & engram.v3.BinaryPayload.$Shape;

            /**
             * Gets the type url for BinaryPayload
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace BinaryPayload {

            /** Properties of a BinaryPayload. */
            interface $Properties {

                /** BinaryPayload data */
                data?: (Uint8Array|null);

                /** BinaryPayload contentType */
                contentType?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a BinaryPayload. */
            type $Shape = engram.v3.BinaryPayload.$Properties;
        }

        /**
         * Properties of a Relationship.
         * @deprecated Use engram.v3.Relationship.$Properties instead.
         */
        interface IRelationship extends engram.v3.Relationship.$Properties {
        }

        /** Represents a Relationship. */
        class Relationship {

            /**
             * Constructs a new Relationship.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.Relationship.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** Relationship targetId. */
            targetId: string;

            /** Relationship type. */
            type: engram.v3.RelationshipType;

            /** Relationship meta. */
            meta: { [k: string]: string };

            /**
             * Creates a new Relationship instance using the specified properties.
             * @param [properties] Properties to set
             * @returns Relationship instance
             */
            static create(properties: engram.v3.Relationship.$Shape): engram.v3.Relationship & engram.v3.Relationship.$Shape;
            static create(properties?: engram.v3.Relationship.$Properties): engram.v3.Relationship;

            /**
             * Encodes the specified Relationship message. Does not implicitly {@link engram.v3.Relationship.verify|verify} messages.
             * @param message Relationship message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.Relationship.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a Relationship message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.Relationship & engram.v3.Relationship.$Shape} Relationship
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.Relationship & engram.v3.Relationship.$Shape;

            /**
             * Gets the type url for Relationship
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace Relationship {

            /** Properties of a Relationship. */
            interface $Properties {

                /** Relationship targetId */
                targetId?: (string|null);

                /** Relationship type */
                type?: (engram.v3.RelationshipType|null);

                /** Relationship meta */
                meta?: ({ [k: string]: string }|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a Relationship. */
            type $Shape = engram.v3.Relationship.$Properties;
        }

        /**
         * Properties of a WorkUnit.
         * @deprecated Use engram.v3.WorkUnit.$Properties instead.
         */
        interface IWorkUnit extends engram.v3.WorkUnit.$Properties {
        }

        /** Represents a WorkUnit. */
        class WorkUnit {

            /**
             * Constructs a new WorkUnit.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.WorkUnit.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** WorkUnit id. */
            id: string;

            /** WorkUnit contextId. */
            contextId: string;

            /** WorkUnit seq. */
            seq: (number|Long);

            /** WorkUnit agentId. */
            agentId: string;

            /** WorkUnit type. */
            type: engram.v3.WorkUnitType;

            /** WorkUnit ts. */
            ts?: (google.protobuf.Timestamp.$Properties|null);

            /** WorkUnit meta. */
            meta: { [k: string]: string };

            /** WorkUnit payload. */
            payload?: (engram.v3.Payload.$Properties|null);

            /** WorkUnit relationships. */
            relationships: engram.v3.Relationship.$Properties[];

            /**
             * Creates a new WorkUnit instance using the specified properties.
             * @param [properties] Properties to set
             * @returns WorkUnit instance
             */
            static create(properties: engram.v3.WorkUnit.$Shape): engram.v3.WorkUnit & engram.v3.WorkUnit.$Shape;
            static create(properties?: engram.v3.WorkUnit.$Properties): engram.v3.WorkUnit;

            /**
             * Encodes the specified WorkUnit message. Does not implicitly {@link engram.v3.WorkUnit.verify|verify} messages.
             * @param message WorkUnit message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.WorkUnit.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a WorkUnit message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.WorkUnit & engram.v3.WorkUnit.$Shape} WorkUnit
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.WorkUnit & engram.v3.WorkUnit.$Shape;

            /**
             * Gets the type url for WorkUnit
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace WorkUnit {

            /** Properties of a WorkUnit. */
            interface $Properties {

                /** WorkUnit id */
                id?: (string|null);

                /** WorkUnit contextId */
                contextId?: (string|null);

                /** WorkUnit seq */
                seq?: (number|Long|null);

                /** WorkUnit agentId */
                agentId?: (string|null);

                /** WorkUnit type */
                type?: (engram.v3.WorkUnitType|null);

                /** WorkUnit ts */
                ts?: (google.protobuf.Timestamp.$Properties|null);

                /** WorkUnit meta */
                meta?: ({ [k: string]: string }|null);

                /** WorkUnit payload */
                payload?: (engram.v3.Payload.$Properties|null);

                /** WorkUnit relationships */
                relationships?: (engram.v3.Relationship.$Properties[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a WorkUnit. */
            type $Shape = {
              id?: string|null;
              contextId?: string|null;
              seq?: number|Long|null;
              agentId?: string|null;
              type?: engram.v3.WorkUnitType|null;
              ts?: google.protobuf.Timestamp.$Shape|null;
              meta?: { [k: string]: string }|null;
              payload?: engram.v3.Payload.$Shape|null;
              relationships?: engram.v3.Relationship.$Shape[]|null;
              $unknowns?: Uint8Array[];
            };
        }

        /**
         * Properties of a Fence.
         * @deprecated Use engram.v3.Fence.$Properties instead.
         */
        interface IFence extends engram.v3.Fence.$Properties {
        }

        /** Represents a Fence. */
        class Fence {

            /**
             * Constructs a new Fence.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.Fence.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** Fence resource. */
            resource: string;

            /** Fence token. */
            token: (number|Long);

            /**
             * Creates a new Fence instance using the specified properties.
             * @param [properties] Properties to set
             * @returns Fence instance
             */
            static create(properties: engram.v3.Fence.$Shape): engram.v3.Fence & engram.v3.Fence.$Shape;
            static create(properties?: engram.v3.Fence.$Properties): engram.v3.Fence;

            /**
             * Encodes the specified Fence message. Does not implicitly {@link engram.v3.Fence.verify|verify} messages.
             * @param message Fence message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.Fence.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a Fence message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.Fence & engram.v3.Fence.$Shape} Fence
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.Fence & engram.v3.Fence.$Shape;

            /**
             * Gets the type url for Fence
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace Fence {

            /** Properties of a Fence. */
            interface $Properties {

                /** Fence resource */
                resource?: (string|null);

                /** Fence token */
                token?: (number|Long|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a Fence. */
            type $Shape = engram.v3.Fence.$Properties;
        }

        /**
         * Properties of a CreateWorkUnitRequest.
         * @deprecated Use engram.v3.CreateWorkUnitRequest.$Properties instead.
         */
        interface ICreateWorkUnitRequest extends engram.v3.CreateWorkUnitRequest.$Properties {
        }

        /** Represents a CreateWorkUnitRequest. */
        class CreateWorkUnitRequest {

            /**
             * Constructs a new CreateWorkUnitRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.CreateWorkUnitRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** CreateWorkUnitRequest contextId. */
            contextId: string;

            /** CreateWorkUnitRequest agentId. */
            agentId: string;

            /** CreateWorkUnitRequest type. */
            type: engram.v3.WorkUnitType;

            /** CreateWorkUnitRequest meta. */
            meta: { [k: string]: string };

            /** CreateWorkUnitRequest payload. */
            payload?: (engram.v3.Payload.$Properties|null);

            /** CreateWorkUnitRequest relationships. */
            relationships: engram.v3.Relationship.$Properties[];

            /** CreateWorkUnitRequest idempotencyKey. */
            idempotencyKey: string;

            /** CreateWorkUnitRequest fence. */
            fence?: (engram.v3.Fence.$Properties|null);

            /** CreateWorkUnitRequest embedding. */
            embedding: number[];

            /**
             * Creates a new CreateWorkUnitRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns CreateWorkUnitRequest instance
             */
            static create(properties: engram.v3.CreateWorkUnitRequest.$Shape): engram.v3.CreateWorkUnitRequest & engram.v3.CreateWorkUnitRequest.$Shape;
            static create(properties?: engram.v3.CreateWorkUnitRequest.$Properties): engram.v3.CreateWorkUnitRequest;

            /**
             * Encodes the specified CreateWorkUnitRequest message. Does not implicitly {@link engram.v3.CreateWorkUnitRequest.verify|verify} messages.
             * @param message CreateWorkUnitRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.CreateWorkUnitRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a CreateWorkUnitRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.CreateWorkUnitRequest & engram.v3.CreateWorkUnitRequest.$Shape} CreateWorkUnitRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.CreateWorkUnitRequest & engram.v3.CreateWorkUnitRequest.$Shape;

            /**
             * Gets the type url for CreateWorkUnitRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace CreateWorkUnitRequest {

            /** Properties of a CreateWorkUnitRequest. */
            interface $Properties {

                /** CreateWorkUnitRequest contextId */
                contextId?: (string|null);

                /** CreateWorkUnitRequest agentId */
                agentId?: (string|null);

                /** CreateWorkUnitRequest type */
                type?: (engram.v3.WorkUnitType|null);

                /** CreateWorkUnitRequest meta */
                meta?: ({ [k: string]: string }|null);

                /** CreateWorkUnitRequest payload */
                payload?: (engram.v3.Payload.$Properties|null);

                /** CreateWorkUnitRequest relationships */
                relationships?: (engram.v3.Relationship.$Properties[]|null);

                /** CreateWorkUnitRequest idempotencyKey */
                idempotencyKey?: (string|null);

                /** CreateWorkUnitRequest fence */
                fence?: (engram.v3.Fence.$Properties|null);

                /** CreateWorkUnitRequest embedding */
                embedding?: (number[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a CreateWorkUnitRequest. */
            type $Shape = {
              contextId?: string|null;
              agentId?: string|null;
              type?: engram.v3.WorkUnitType|null;
              meta?: { [k: string]: string }|null;
              payload?: engram.v3.Payload.$Shape|null;
              relationships?: engram.v3.Relationship.$Shape[]|null;
              idempotencyKey?: string|null;
              fence?: engram.v3.Fence.$Shape|null;
              embedding?: number[]|null;
              $unknowns?: Uint8Array[];
            };
        }

        /**
         * Properties of a CreateWorkUnitResponse.
         * @deprecated Use engram.v3.CreateWorkUnitResponse.$Properties instead.
         */
        interface ICreateWorkUnitResponse extends engram.v3.CreateWorkUnitResponse.$Properties {
        }

        /** Represents a CreateWorkUnitResponse. */
        class CreateWorkUnitResponse {

            /**
             * Constructs a new CreateWorkUnitResponse.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.CreateWorkUnitResponse.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** CreateWorkUnitResponse workUnit. */
            workUnit?: (engram.v3.WorkUnit.$Properties|null);

            /** CreateWorkUnitResponse replayed. */
            replayed: boolean;

            /**
             * Creates a new CreateWorkUnitResponse instance using the specified properties.
             * @param [properties] Properties to set
             * @returns CreateWorkUnitResponse instance
             */
            static create(properties: engram.v3.CreateWorkUnitResponse.$Shape): engram.v3.CreateWorkUnitResponse & engram.v3.CreateWorkUnitResponse.$Shape;
            static create(properties?: engram.v3.CreateWorkUnitResponse.$Properties): engram.v3.CreateWorkUnitResponse;

            /**
             * Encodes the specified CreateWorkUnitResponse message. Does not implicitly {@link engram.v3.CreateWorkUnitResponse.verify|verify} messages.
             * @param message CreateWorkUnitResponse message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.CreateWorkUnitResponse.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a CreateWorkUnitResponse message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.CreateWorkUnitResponse & engram.v3.CreateWorkUnitResponse.$Shape} CreateWorkUnitResponse
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.CreateWorkUnitResponse & engram.v3.CreateWorkUnitResponse.$Shape;

            /**
             * Gets the type url for CreateWorkUnitResponse
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace CreateWorkUnitResponse {

            /** Properties of a CreateWorkUnitResponse. */
            interface $Properties {

                /** CreateWorkUnitResponse workUnit */
                workUnit?: (engram.v3.WorkUnit.$Properties|null);

                /** CreateWorkUnitResponse replayed */
                replayed?: (boolean|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a CreateWorkUnitResponse. */
            type $Shape = {
              workUnit?: engram.v3.WorkUnit.$Shape|null;
              replayed?: boolean|null;
              $unknowns?: Uint8Array[];
            };
        }

        /**
         * Properties of an Error.
         * @deprecated Use engram.v3.Error.$Properties instead.
         */
        interface IError extends engram.v3.Error.$Properties {
        }

        /** Represents an Error. */
        class Error {

            /**
             * Constructs a new Error.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.Error.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** Error code. */
            code: string;

            /** Error message. */
            message: string;

            /**
             * Creates a new Error instance using the specified properties.
             * @param [properties] Properties to set
             * @returns Error instance
             */
            static create(properties: engram.v3.Error.$Shape): engram.v3.Error & engram.v3.Error.$Shape;
            static create(properties?: engram.v3.Error.$Properties): engram.v3.Error;

            /**
             * Encodes the specified Error message. Does not implicitly {@link engram.v3.Error.verify|verify} messages.
             * @param message Error message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.Error.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an Error message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.Error & engram.v3.Error.$Shape} Error
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.Error & engram.v3.Error.$Shape;

            /**
             * Gets the type url for Error
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace Error {

            /** Properties of an Error. */
            interface $Properties {

                /** Error code */
                code?: (string|null);

                /** Error message */
                message?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of an Error. */
            type $Shape = engram.v3.Error.$Properties;
        }

        /**
         * Properties of a WorkUnitAck.
         * @deprecated Use engram.v3.WorkUnitAck.$Properties instead.
         */
        interface IWorkUnitAck extends engram.v3.WorkUnitAck.$Properties {
        }

        /** Represents a WorkUnitAck. */
        class WorkUnitAck {

            /**
             * Constructs a new WorkUnitAck.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.WorkUnitAck.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** WorkUnitAck index. */
            index: (number|Long);

            /** WorkUnitAck id. */
            id: string;

            /** WorkUnitAck contextId. */
            contextId: string;

            /** WorkUnitAck seq. */
            seq: (number|Long);

            /** WorkUnitAck replayed. */
            replayed: boolean;

            /** WorkUnitAck error. */
            error?: (engram.v3.Error.$Properties|null);

            /**
             * Creates a new WorkUnitAck instance using the specified properties.
             * @param [properties] Properties to set
             * @returns WorkUnitAck instance
             */
            static create(properties: engram.v3.WorkUnitAck.$Shape): engram.v3.WorkUnitAck & engram.v3.WorkUnitAck.$Shape;
            static create(properties?: engram.v3.WorkUnitAck.$Properties): engram.v3.WorkUnitAck;

            /**
             * Encodes the specified WorkUnitAck message. Does not implicitly {@link engram.v3.WorkUnitAck.verify|verify} messages.
             * @param message WorkUnitAck message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.WorkUnitAck.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a WorkUnitAck message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.WorkUnitAck & engram.v3.WorkUnitAck.$Shape} WorkUnitAck
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.WorkUnitAck & engram.v3.WorkUnitAck.$Shape;

            /**
             * Gets the type url for WorkUnitAck
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace WorkUnitAck {

            /** Properties of a WorkUnitAck. */
            interface $Properties {

                /** WorkUnitAck index */
                index?: (number|Long|null);

                /** WorkUnitAck id */
                id?: (string|null);

                /** WorkUnitAck contextId */
                contextId?: (string|null);

                /** WorkUnitAck seq */
                seq?: (number|Long|null);

                /** WorkUnitAck replayed */
                replayed?: (boolean|null);

                /** WorkUnitAck error */
                error?: (engram.v3.Error.$Properties|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a WorkUnitAck. */
            type $Shape = engram.v3.WorkUnitAck.$Properties;
        }

        /**
         * Properties of a GetWorkUnitRequest.
         * @deprecated Use engram.v3.GetWorkUnitRequest.$Properties instead.
         */
        interface IGetWorkUnitRequest extends engram.v3.GetWorkUnitRequest.$Properties {
        }

        /** Represents a GetWorkUnitRequest. */
        class GetWorkUnitRequest {

            /**
             * Constructs a new GetWorkUnitRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.GetWorkUnitRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** GetWorkUnitRequest id. */
            id: string;

            /**
             * Creates a new GetWorkUnitRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns GetWorkUnitRequest instance
             */
            static create(properties: engram.v3.GetWorkUnitRequest.$Shape): engram.v3.GetWorkUnitRequest & engram.v3.GetWorkUnitRequest.$Shape;
            static create(properties?: engram.v3.GetWorkUnitRequest.$Properties): engram.v3.GetWorkUnitRequest;

            /**
             * Encodes the specified GetWorkUnitRequest message. Does not implicitly {@link engram.v3.GetWorkUnitRequest.verify|verify} messages.
             * @param message GetWorkUnitRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.GetWorkUnitRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a GetWorkUnitRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.GetWorkUnitRequest & engram.v3.GetWorkUnitRequest.$Shape} GetWorkUnitRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.GetWorkUnitRequest & engram.v3.GetWorkUnitRequest.$Shape;

            /**
             * Gets the type url for GetWorkUnitRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace GetWorkUnitRequest {

            /** Properties of a GetWorkUnitRequest. */
            interface $Properties {

                /** GetWorkUnitRequest id */
                id?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a GetWorkUnitRequest. */
            type $Shape = engram.v3.GetWorkUnitRequest.$Properties;
        }

        /**
         * Properties of a ListWorkUnitsRequest.
         * @deprecated Use engram.v3.ListWorkUnitsRequest.$Properties instead.
         */
        interface IListWorkUnitsRequest extends engram.v3.ListWorkUnitsRequest.$Properties {
        }

        /** Represents a ListWorkUnitsRequest. */
        class ListWorkUnitsRequest {

            /**
             * Constructs a new ListWorkUnitsRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.ListWorkUnitsRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ListWorkUnitsRequest contextId. */
            contextId: string;

            /** ListWorkUnitsRequest limit. */
            limit: number;

            /** ListWorkUnitsRequest after. */
            after?: (number|Long|null);

            /** ListWorkUnitsRequest before. */
            before?: (number|Long|null);

            /** ListWorkUnitsRequest reverse. */
            reverse: boolean;

            /** ListWorkUnitsRequest summaries. */
            summaries: boolean;

            /**
             * Creates a new ListWorkUnitsRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ListWorkUnitsRequest instance
             */
            static create(properties: engram.v3.ListWorkUnitsRequest.$Shape): engram.v3.ListWorkUnitsRequest & engram.v3.ListWorkUnitsRequest.$Shape;
            static create(properties?: engram.v3.ListWorkUnitsRequest.$Properties): engram.v3.ListWorkUnitsRequest;

            /**
             * Encodes the specified ListWorkUnitsRequest message. Does not implicitly {@link engram.v3.ListWorkUnitsRequest.verify|verify} messages.
             * @param message ListWorkUnitsRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.ListWorkUnitsRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ListWorkUnitsRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.ListWorkUnitsRequest & engram.v3.ListWorkUnitsRequest.$Shape} ListWorkUnitsRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.ListWorkUnitsRequest & engram.v3.ListWorkUnitsRequest.$Shape;

            /**
             * Gets the type url for ListWorkUnitsRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace ListWorkUnitsRequest {

            /** Properties of a ListWorkUnitsRequest. */
            interface $Properties {

                /** ListWorkUnitsRequest contextId */
                contextId?: (string|null);

                /** ListWorkUnitsRequest limit */
                limit?: (number|null);

                /** ListWorkUnitsRequest after */
                after?: (number|Long|null);

                /** ListWorkUnitsRequest before */
                before?: (number|Long|null);

                /** ListWorkUnitsRequest reverse */
                reverse?: (boolean|null);

                /** ListWorkUnitsRequest summaries */
                summaries?: (boolean|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ListWorkUnitsRequest. */
            type $Shape = engram.v3.ListWorkUnitsRequest.$Properties;
        }

        /**
         * Properties of a ListWorkUnitsResponse.
         * @deprecated Use engram.v3.ListWorkUnitsResponse.$Properties instead.
         */
        interface IListWorkUnitsResponse extends engram.v3.ListWorkUnitsResponse.$Properties {
        }

        /** Represents a ListWorkUnitsResponse. */
        class ListWorkUnitsResponse {

            /**
             * Constructs a new ListWorkUnitsResponse.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.ListWorkUnitsResponse.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ListWorkUnitsResponse workUnits. */
            workUnits: engram.v3.WorkUnit.$Properties[];

            /** ListWorkUnitsResponse nextCursor. */
            nextCursor?: (number|Long|null);

            /** ListWorkUnitsResponse firstSeq. */
            firstSeq: (number|Long);

            /**
             * Creates a new ListWorkUnitsResponse instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ListWorkUnitsResponse instance
             */
            static create(properties: engram.v3.ListWorkUnitsResponse.$Shape): engram.v3.ListWorkUnitsResponse & engram.v3.ListWorkUnitsResponse.$Shape;
            static create(properties?: engram.v3.ListWorkUnitsResponse.$Properties): engram.v3.ListWorkUnitsResponse;

            /**
             * Encodes the specified ListWorkUnitsResponse message. Does not implicitly {@link engram.v3.ListWorkUnitsResponse.verify|verify} messages.
             * @param message ListWorkUnitsResponse message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.ListWorkUnitsResponse.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ListWorkUnitsResponse message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.ListWorkUnitsResponse & engram.v3.ListWorkUnitsResponse.$Shape} ListWorkUnitsResponse
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.ListWorkUnitsResponse & engram.v3.ListWorkUnitsResponse.$Shape;

            /**
             * Gets the type url for ListWorkUnitsResponse
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace ListWorkUnitsResponse {

            /** Properties of a ListWorkUnitsResponse. */
            interface $Properties {

                /** ListWorkUnitsResponse workUnits */
                workUnits?: (engram.v3.WorkUnit.$Properties[]|null);

                /** ListWorkUnitsResponse nextCursor */
                nextCursor?: (number|Long|null);

                /** ListWorkUnitsResponse firstSeq */
                firstSeq?: (number|Long|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ListWorkUnitsResponse. */
            type $Shape = {
              workUnits?: engram.v3.WorkUnit.$Shape[]|null;
              nextCursor?: number|Long|null;
              firstSeq?: number|Long|null;
              $unknowns?: Uint8Array[];
            };
        }

        /**
         * Properties of a Context.
         * @deprecated Use engram.v3.Context.$Properties instead.
         */
        interface IContext extends engram.v3.Context.$Properties {
        }

        /** Represents a Context. */
        class Context {

            /**
             * Constructs a new Context.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.Context.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** Context id. */
            id: string;

            /** Context displayName. */
            displayName: string;

            /** Context agentIds. */
            agentIds: string[];

            /** Context pinnedUnits. */
            pinnedUnits: string[];

            /** Context meta. */
            meta: { [k: string]: string };

            /** Context createdAt. */
            createdAt?: (google.protobuf.Timestamp.$Properties|null);

            /** Context updatedAt. */
            updatedAt?: (google.protobuf.Timestamp.$Properties|null);

            /** Context version. */
            version: (number|Long);

            /** Context headSeq. */
            headSeq: (number|Long);

            /** Context firstSeq. */
            firstSeq: (number|Long);

            /** Context forkOf. */
            forkOf?: (engram.v3.ForkPoint.$Properties|null);

            /** Context lineage. */
            lineage: engram.v3.ForkPoint.$Properties[];

            /** Context forks. */
            forks: string[];

            /**
             * Creates a new Context instance using the specified properties.
             * @param [properties] Properties to set
             * @returns Context instance
             */
            static create(properties: engram.v3.Context.$Shape): engram.v3.Context & engram.v3.Context.$Shape;
            static create(properties?: engram.v3.Context.$Properties): engram.v3.Context;

            /**
             * Encodes the specified Context message. Does not implicitly {@link engram.v3.Context.verify|verify} messages.
             * @param message Context message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.Context.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a Context message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.Context & engram.v3.Context.$Shape} Context
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.Context & engram.v3.Context.$Shape;

            /**
             * Gets the type url for Context
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace Context {

            /** Properties of a Context. */
            interface $Properties {

                /** Context id */
                id?: (string|null);

                /** Context displayName */
                displayName?: (string|null);

                /** Context agentIds */
                agentIds?: (string[]|null);

                /** Context pinnedUnits */
                pinnedUnits?: (string[]|null);

                /** Context meta */
                meta?: ({ [k: string]: string }|null);

                /** Context createdAt */
                createdAt?: (google.protobuf.Timestamp.$Properties|null);

                /** Context updatedAt */
                updatedAt?: (google.protobuf.Timestamp.$Properties|null);

                /** Context version */
                version?: (number|Long|null);

                /** Context headSeq */
                headSeq?: (number|Long|null);

                /** Context firstSeq */
                firstSeq?: (number|Long|null);

                /** Context forkOf */
                forkOf?: (engram.v3.ForkPoint.$Properties|null);

                /** Context lineage */
                lineage?: (engram.v3.ForkPoint.$Properties[]|null);

                /** Context forks */
                forks?: (string[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a Context. */
            type $Shape = engram.v3.Context.$Properties;
        }

        /**
         * Properties of a ForkPoint.
         * @deprecated Use engram.v3.ForkPoint.$Properties instead.
         */
        interface IForkPoint extends engram.v3.ForkPoint.$Properties {
        }

        /** Represents a ForkPoint. */
        class ForkPoint {

            /**
             * Constructs a new ForkPoint.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.ForkPoint.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ForkPoint contextId. */
            contextId: string;

            /** ForkPoint seq. */
            seq: (number|Long);

            /**
             * Creates a new ForkPoint instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ForkPoint instance
             */
            static create(properties: engram.v3.ForkPoint.$Shape): engram.v3.ForkPoint & engram.v3.ForkPoint.$Shape;
            static create(properties?: engram.v3.ForkPoint.$Properties): engram.v3.ForkPoint;

            /**
             * Encodes the specified ForkPoint message. Does not implicitly {@link engram.v3.ForkPoint.verify|verify} messages.
             * @param message ForkPoint message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.ForkPoint.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ForkPoint message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.ForkPoint & engram.v3.ForkPoint.$Shape} ForkPoint
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.ForkPoint & engram.v3.ForkPoint.$Shape;

            /**
             * Gets the type url for ForkPoint
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace ForkPoint {

            /** Properties of a ForkPoint. */
            interface $Properties {

                /** ForkPoint contextId */
                contextId?: (string|null);

                /** ForkPoint seq */
                seq?: (number|Long|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ForkPoint. */
            type $Shape = engram.v3.ForkPoint.$Properties;
        }

        /**
         * Properties of a ForkContextRequest.
         * @deprecated Use engram.v3.ForkContextRequest.$Properties instead.
         */
        interface IForkContextRequest extends engram.v3.ForkContextRequest.$Properties {
        }

        /** Represents a ForkContextRequest. */
        class ForkContextRequest {

            /**
             * Constructs a new ForkContextRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.ForkContextRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ForkContextRequest contextId. */
            contextId: string;

            /** ForkContextRequest seq. */
            seq: (number|Long);

            /** ForkContextRequest id. */
            id: string;

            /** ForkContextRequest displayName. */
            displayName?: (string|null);

            /** ForkContextRequest meta. */
            meta: { [k: string]: string };

            /**
             * Creates a new ForkContextRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ForkContextRequest instance
             */
            static create(properties: engram.v3.ForkContextRequest.$Shape): engram.v3.ForkContextRequest & engram.v3.ForkContextRequest.$Shape;
            static create(properties?: engram.v3.ForkContextRequest.$Properties): engram.v3.ForkContextRequest;

            /**
             * Encodes the specified ForkContextRequest message. Does not implicitly {@link engram.v3.ForkContextRequest.verify|verify} messages.
             * @param message ForkContextRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.ForkContextRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ForkContextRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.ForkContextRequest & engram.v3.ForkContextRequest.$Shape} ForkContextRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.ForkContextRequest & engram.v3.ForkContextRequest.$Shape;

            /**
             * Gets the type url for ForkContextRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace ForkContextRequest {

            /** Properties of a ForkContextRequest. */
            interface $Properties {

                /** ForkContextRequest contextId */
                contextId?: (string|null);

                /** ForkContextRequest seq */
                seq?: (number|Long|null);

                /** ForkContextRequest id */
                id?: (string|null);

                /** ForkContextRequest displayName */
                displayName?: (string|null);

                /** ForkContextRequest meta */
                meta?: ({ [k: string]: string }|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ForkContextRequest. */
            type $Shape = engram.v3.ForkContextRequest.$Properties;
        }

        /**
         * Properties of a ListForksRequest.
         * @deprecated Use engram.v3.ListForksRequest.$Properties instead.
         */
        interface IListForksRequest extends engram.v3.ListForksRequest.$Properties {
        }

        /** Represents a ListForksRequest. */
        class ListForksRequest {

            /**
             * Constructs a new ListForksRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.ListForksRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ListForksRequest contextId. */
            contextId: string;

            /**
             * Creates a new ListForksRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ListForksRequest instance
             */
            static create(properties: engram.v3.ListForksRequest.$Shape): engram.v3.ListForksRequest & engram.v3.ListForksRequest.$Shape;
            static create(properties?: engram.v3.ListForksRequest.$Properties): engram.v3.ListForksRequest;

            /**
             * Encodes the specified ListForksRequest message. Does not implicitly {@link engram.v3.ListForksRequest.verify|verify} messages.
             * @param message ListForksRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.ListForksRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ListForksRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.ListForksRequest & engram.v3.ListForksRequest.$Shape} ListForksRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.ListForksRequest & engram.v3.ListForksRequest.$Shape;

            /**
             * Gets the type url for ListForksRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace ListForksRequest {

            /** Properties of a ListForksRequest. */
            interface $Properties {

                /** ListForksRequest contextId */
                contextId?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ListForksRequest. */
            type $Shape = engram.v3.ListForksRequest.$Properties;
        }

        /**
         * Properties of a ListForksResponse.
         * @deprecated Use engram.v3.ListForksResponse.$Properties instead.
         */
        interface IListForksResponse extends engram.v3.ListForksResponse.$Properties {
        }

        /** Represents a ListForksResponse. */
        class ListForksResponse {

            /**
             * Constructs a new ListForksResponse.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.ListForksResponse.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ListForksResponse forks. */
            forks: engram.v3.Context.$Properties[];

            /**
             * Creates a new ListForksResponse instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ListForksResponse instance
             */
            static create(properties: engram.v3.ListForksResponse.$Shape): engram.v3.ListForksResponse & engram.v3.ListForksResponse.$Shape;
            static create(properties?: engram.v3.ListForksResponse.$Properties): engram.v3.ListForksResponse;

            /**
             * Encodes the specified ListForksResponse message. Does not implicitly {@link engram.v3.ListForksResponse.verify|verify} messages.
             * @param message ListForksResponse message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.ListForksResponse.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ListForksResponse message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.ListForksResponse & engram.v3.ListForksResponse.$Shape} ListForksResponse
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.ListForksResponse & engram.v3.ListForksResponse.$Shape;

            /**
             * Gets the type url for ListForksResponse
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace ListForksResponse {

            /** Properties of a ListForksResponse. */
            interface $Properties {

                /** ListForksResponse forks */
                forks?: (engram.v3.Context.$Properties[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ListForksResponse. */
            type $Shape = engram.v3.ListForksResponse.$Properties;
        }

        /**
         * Properties of a GetContextRequest.
         * @deprecated Use engram.v3.GetContextRequest.$Properties instead.
         */
        interface IGetContextRequest extends engram.v3.GetContextRequest.$Properties {
        }

        /** Represents a GetContextRequest. */
        class GetContextRequest {

            /**
             * Constructs a new GetContextRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.GetContextRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** GetContextRequest contextId. */
            contextId: string;

            /**
             * Creates a new GetContextRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns GetContextRequest instance
             */
            static create(properties: engram.v3.GetContextRequest.$Shape): engram.v3.GetContextRequest & engram.v3.GetContextRequest.$Shape;
            static create(properties?: engram.v3.GetContextRequest.$Properties): engram.v3.GetContextRequest;

            /**
             * Encodes the specified GetContextRequest message. Does not implicitly {@link engram.v3.GetContextRequest.verify|verify} messages.
             * @param message GetContextRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.GetContextRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a GetContextRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.GetContextRequest & engram.v3.GetContextRequest.$Shape} GetContextRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.GetContextRequest & engram.v3.GetContextRequest.$Shape;

            /**
             * Gets the type url for GetContextRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace GetContextRequest {

            /** Properties of a GetContextRequest. */
            interface $Properties {

                /** GetContextRequest contextId */
                contextId?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a GetContextRequest. */
            type $Shape = engram.v3.GetContextRequest.$Properties;
        }

        /**
         * Properties of a DeleteContextRequest.
         * @deprecated Use engram.v3.DeleteContextRequest.$Properties instead.
         */
        interface IDeleteContextRequest extends engram.v3.DeleteContextRequest.$Properties {
        }

        /** Represents a DeleteContextRequest. */
        class DeleteContextRequest {

            /**
             * Constructs a new DeleteContextRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.DeleteContextRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** DeleteContextRequest contextId. */
            contextId: string;

            /** DeleteContextRequest cascade. */
            cascade: boolean;

            /**
             * Creates a new DeleteContextRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns DeleteContextRequest instance
             */
            static create(properties: engram.v3.DeleteContextRequest.$Shape): engram.v3.DeleteContextRequest & engram.v3.DeleteContextRequest.$Shape;
            static create(properties?: engram.v3.DeleteContextRequest.$Properties): engram.v3.DeleteContextRequest;

            /**
             * Encodes the specified DeleteContextRequest message. Does not implicitly {@link engram.v3.DeleteContextRequest.verify|verify} messages.
             * @param message DeleteContextRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.DeleteContextRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a DeleteContextRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.DeleteContextRequest & engram.v3.DeleteContextRequest.$Shape} DeleteContextRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.DeleteContextRequest & engram.v3.DeleteContextRequest.$Shape;

            /**
             * Gets the type url for DeleteContextRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace DeleteContextRequest {

            /** Properties of a DeleteContextRequest. */
            interface $Properties {

                /** DeleteContextRequest contextId */
                contextId?: (string|null);

                /** DeleteContextRequest cascade */
                cascade?: (boolean|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a DeleteContextRequest. */
            type $Shape = engram.v3.DeleteContextRequest.$Properties;
        }

        /**
         * Properties of a ContextDeletion.
         * @deprecated Use engram.v3.ContextDeletion.$Properties instead.
         */
        interface IContextDeletion extends engram.v3.ContextDeletion.$Properties {
        }

        /** Represents a ContextDeletion. */
        class ContextDeletion {

            /**
             * Constructs a new ContextDeletion.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.ContextDeletion.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ContextDeletion contextId. */
            contextId: string;

            /** ContextDeletion units. */
            units: (number|Long);

            /** ContextDeletion bytes. */
            bytes: (number|Long);

            /** ContextDeletion forksDeleted. */
            forksDeleted: string[];

            /**
             * Creates a new ContextDeletion instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ContextDeletion instance
             */
            static create(properties: engram.v3.ContextDeletion.$Shape): engram.v3.ContextDeletion & engram.v3.ContextDeletion.$Shape;
            static create(properties?: engram.v3.ContextDeletion.$Properties): engram.v3.ContextDeletion;

            /**
             * Encodes the specified ContextDeletion message. Does not implicitly {@link engram.v3.ContextDeletion.verify|verify} messages.
             * @param message ContextDeletion message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.ContextDeletion.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ContextDeletion message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.ContextDeletion & engram.v3.ContextDeletion.$Shape} ContextDeletion
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.ContextDeletion & engram.v3.ContextDeletion.$Shape;

            /**
             * Gets the type url for ContextDeletion
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace ContextDeletion {

            /** Properties of a ContextDeletion. */
            interface $Properties {

                /** ContextDeletion contextId */
                contextId?: (string|null);

                /** ContextDeletion units */
                units?: (number|Long|null);

                /** ContextDeletion bytes */
                bytes?: (number|Long|null);

                /** ContextDeletion forksDeleted */
                forksDeleted?: (string[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ContextDeletion. */
            type $Shape = engram.v3.ContextDeletion.$Properties;
        }

        /**
         * Properties of an UpdateContextRequest.
         * @deprecated Use engram.v3.UpdateContextRequest.$Properties instead.
         */
        interface IUpdateContextRequest extends engram.v3.UpdateContextRequest.$Properties {
        }

        /** Represents an UpdateContextRequest. */
        class UpdateContextRequest {

            /**
             * Constructs a new UpdateContextRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.UpdateContextRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** UpdateContextRequest contextId. */
            contextId: string;

            /** UpdateContextRequest displayName. */
            displayName?: (string|null);

            /** UpdateContextRequest addAgents. */
            addAgents: string[];

            /** UpdateContextRequest removeAgents. */
            removeAgents: string[];

            /** UpdateContextRequest pinUnits. */
            pinUnits: string[];

            /** UpdateContextRequest unpinUnits. */
            unpinUnits: string[];

            /** UpdateContextRequest setMeta. */
            setMeta: { [k: string]: string };

            /** UpdateContextRequest deleteMeta. */
            deleteMeta: string[];

            /** UpdateContextRequest ifVersion. */
            ifVersion?: (number|Long|null);

            /** UpdateContextRequest ifExists. */
            ifExists?: (boolean|null);

            /** UpdateContextRequest precondition. */
            precondition?: ("ifVersion"|"ifExists");

            /**
             * Creates a new UpdateContextRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns UpdateContextRequest instance
             */
            static create(properties: engram.v3.UpdateContextRequest.$Shape): engram.v3.UpdateContextRequest & engram.v3.UpdateContextRequest.$Shape;
            static create(properties?: engram.v3.UpdateContextRequest.$Properties): engram.v3.UpdateContextRequest;

            /**
             * Encodes the specified UpdateContextRequest message. Does not implicitly {@link engram.v3.UpdateContextRequest.verify|verify} messages.
             * @param message UpdateContextRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.UpdateContextRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an UpdateContextRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.UpdateContextRequest & engram.v3.UpdateContextRequest.$Shape} UpdateContextRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.UpdateContextRequest & engram.v3.UpdateContextRequest.$Shape;

            /**
             * Gets the type url for UpdateContextRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace UpdateContextRequest {

            /** Properties of an UpdateContextRequest. */
            interface $Properties {

                /** UpdateContextRequest contextId */
                contextId?: (string|null);

                /** UpdateContextRequest displayName */
                displayName?: (string|null);

                /** UpdateContextRequest addAgents */
                addAgents?: (string[]|null);

                /** UpdateContextRequest removeAgents */
                removeAgents?: (string[]|null);

                /** UpdateContextRequest pinUnits */
                pinUnits?: (string[]|null);

                /** UpdateContextRequest unpinUnits */
                unpinUnits?: (string[]|null);

                /** UpdateContextRequest setMeta */
                setMeta?: ({ [k: string]: string }|null);

                /** UpdateContextRequest deleteMeta */
                deleteMeta?: (string[]|null);

                /** UpdateContextRequest ifVersion */
                ifVersion?: (number|Long|null);

                /** UpdateContextRequest ifExists */
                ifExists?: (boolean|null);

                /** UpdateContextRequest precondition */
                precondition?: ("ifVersion"|"ifExists");

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Narrowed shape of an UpdateContextRequest. */
            type $Shape = {
              contextId?: string|null;
              displayName?: string|null;
              addAgents?: string[]|null;
              removeAgents?: string[]|null;
              pinUnits?: string[]|null;
              unpinUnits?: string[]|null;
              setMeta?: { [k: string]: string }|null;
              deleteMeta?: string[]|null;
              ifVersion?: number|Long|null;
              ifExists?: boolean|null;
              $unknowns?: Uint8Array[];
            } & (
              ({ precondition?: undefined; ifVersion?: null; ifExists?: null }|{ precondition?: "ifVersion"; ifVersion: number|Long; ifExists?: null }|{ precondition?: "ifExists"; ifVersion?: null; ifExists: boolean })
            );
        }

        /**
         * Properties of a ListContextsRequest.
         * @deprecated Use engram.v3.ListContextsRequest.$Properties instead.
         */
        interface IListContextsRequest extends engram.v3.ListContextsRequest.$Properties {
        }

        /** Represents a ListContextsRequest. */
        class ListContextsRequest {

            /**
             * Constructs a new ListContextsRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.ListContextsRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ListContextsRequest limit. */
            limit: number;

            /** ListContextsRequest after. */
            after: string;

            /** ListContextsRequest prefix. */
            prefix: string;

            /**
             * Creates a new ListContextsRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ListContextsRequest instance
             */
            static create(properties: engram.v3.ListContextsRequest.$Shape): engram.v3.ListContextsRequest & engram.v3.ListContextsRequest.$Shape;
            static create(properties?: engram.v3.ListContextsRequest.$Properties): engram.v3.ListContextsRequest;

            /**
             * Encodes the specified ListContextsRequest message. Does not implicitly {@link engram.v3.ListContextsRequest.verify|verify} messages.
             * @param message ListContextsRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.ListContextsRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ListContextsRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.ListContextsRequest & engram.v3.ListContextsRequest.$Shape} ListContextsRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.ListContextsRequest & engram.v3.ListContextsRequest.$Shape;

            /**
             * Gets the type url for ListContextsRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace ListContextsRequest {

            /** Properties of a ListContextsRequest. */
            interface $Properties {

                /** ListContextsRequest limit */
                limit?: (number|null);

                /** ListContextsRequest after */
                after?: (string|null);

                /** ListContextsRequest prefix */
                prefix?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ListContextsRequest. */
            type $Shape = engram.v3.ListContextsRequest.$Properties;
        }

        /**
         * Properties of a ListContextsResponse.
         * @deprecated Use engram.v3.ListContextsResponse.$Properties instead.
         */
        interface IListContextsResponse extends engram.v3.ListContextsResponse.$Properties {
        }

        /** Represents a ListContextsResponse. */
        class ListContextsResponse {

            /**
             * Constructs a new ListContextsResponse.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.ListContextsResponse.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ListContextsResponse contexts. */
            contexts: engram.v3.Context.$Properties[];

            /** ListContextsResponse nextCursor. */
            nextCursor?: (string|null);

            /**
             * Creates a new ListContextsResponse instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ListContextsResponse instance
             */
            static create(properties: engram.v3.ListContextsResponse.$Shape): engram.v3.ListContextsResponse & engram.v3.ListContextsResponse.$Shape;
            static create(properties?: engram.v3.ListContextsResponse.$Properties): engram.v3.ListContextsResponse;

            /**
             * Encodes the specified ListContextsResponse message. Does not implicitly {@link engram.v3.ListContextsResponse.verify|verify} messages.
             * @param message ListContextsResponse message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.ListContextsResponse.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ListContextsResponse message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.ListContextsResponse & engram.v3.ListContextsResponse.$Shape} ListContextsResponse
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.ListContextsResponse & engram.v3.ListContextsResponse.$Shape;

            /**
             * Gets the type url for ListContextsResponse
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace ListContextsResponse {

            /** Properties of a ListContextsResponse. */
            interface $Properties {

                /** ListContextsResponse contexts */
                contexts?: (engram.v3.Context.$Properties[]|null);

                /** ListContextsResponse nextCursor */
                nextCursor?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ListContextsResponse. */
            type $Shape = engram.v3.ListContextsResponse.$Properties;
        }

        /**
         * Properties of a Lock.
         * @deprecated Use engram.v3.Lock.$Properties instead.
         */
        interface ILock extends engram.v3.Lock.$Properties {
        }

        /** Represents a Lock. */
        class Lock {

            /**
             * Constructs a new Lock.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.Lock.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** Lock resource. */
            resource: string;

            /** Lock agentId. */
            agentId: string;

            /** Lock lockId. */
            lockId: string;

            /** Lock token. */
            token: (number|Long);

            /** Lock expiresAt. */
            expiresAt?: (google.protobuf.Timestamp.$Properties|null);

            /** Lock ttlMs. */
            ttlMs: (number|Long);

            /** Lock acquiredAt. */
            acquiredAt?: (google.protobuf.Timestamp.$Properties|null);

            /** Lock contextId. */
            contextId: string;

            /** Lock waiting. */
            waiting: number;

            /**
             * Creates a new Lock instance using the specified properties.
             * @param [properties] Properties to set
             * @returns Lock instance
             */
            static create(properties: engram.v3.Lock.$Shape): engram.v3.Lock & engram.v3.Lock.$Shape;
            static create(properties?: engram.v3.Lock.$Properties): engram.v3.Lock;

            /**
             * Encodes the specified Lock message. Does not implicitly {@link engram.v3.Lock.verify|verify} messages.
             * @param message Lock message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.Lock.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a Lock message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.Lock & engram.v3.Lock.$Shape} Lock
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.Lock & engram.v3.Lock.$Shape;

            /**
             * Gets the type url for Lock
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace Lock {

            /** Properties of a Lock. */
            interface $Properties {

                /** Lock resource */
                resource?: (string|null);

                /** Lock agentId */
                agentId?: (string|null);

                /** Lock lockId */
                lockId?: (string|null);

                /** Lock token */
                token?: (number|Long|null);

                /** Lock expiresAt */
                expiresAt?: (google.protobuf.Timestamp.$Properties|null);

                /** Lock ttlMs */
                ttlMs?: (number|Long|null);

                /** Lock acquiredAt */
                acquiredAt?: (google.protobuf.Timestamp.$Properties|null);

                /** Lock contextId */
                contextId?: (string|null);

                /** Lock waiting */
                waiting?: (number|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a Lock. */
            type $Shape = engram.v3.Lock.$Properties;
        }

        /**
         * Properties of an AcquireLockRequest.
         * @deprecated Use engram.v3.AcquireLockRequest.$Properties instead.
         */
        interface IAcquireLockRequest extends engram.v3.AcquireLockRequest.$Properties {
        }

        /** Represents an AcquireLockRequest. */
        class AcquireLockRequest {

            /**
             * Constructs a new AcquireLockRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.AcquireLockRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** AcquireLockRequest resources. */
            resources: string[];

            /** AcquireLockRequest agentId. */
            agentId: string;

            /** AcquireLockRequest ttlMs. */
            ttlMs?: (number|Long|null);

            /** AcquireLockRequest waitMs. */
            waitMs?: (number|Long|null);

            /** AcquireLockRequest contextId. */
            contextId: string;

            /**
             * Creates a new AcquireLockRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns AcquireLockRequest instance
             */
            static create(properties: engram.v3.AcquireLockRequest.$Shape): engram.v3.AcquireLockRequest & engram.v3.AcquireLockRequest.$Shape;
            static create(properties?: engram.v3.AcquireLockRequest.$Properties): engram.v3.AcquireLockRequest;

            /**
             * Encodes the specified AcquireLockRequest message. Does not implicitly {@link engram.v3.AcquireLockRequest.verify|verify} messages.
             * @param message AcquireLockRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.AcquireLockRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an AcquireLockRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.AcquireLockRequest & engram.v3.AcquireLockRequest.$Shape} AcquireLockRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.AcquireLockRequest & engram.v3.AcquireLockRequest.$Shape;

            /**
             * Gets the type url for AcquireLockRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace AcquireLockRequest {

            /** Properties of an AcquireLockRequest. */
            interface $Properties {

                /** AcquireLockRequest resources */
                resources?: (string[]|null);

                /** AcquireLockRequest agentId */
                agentId?: (string|null);

                /** AcquireLockRequest ttlMs */
                ttlMs?: (number|Long|null);

                /** AcquireLockRequest waitMs */
                waitMs?: (number|Long|null);

                /** AcquireLockRequest contextId */
                contextId?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of an AcquireLockRequest. */
            type $Shape = engram.v3.AcquireLockRequest.$Properties;
        }

        /**
         * Properties of an AcquireLockResponse.
         * @deprecated Use engram.v3.AcquireLockResponse.$Properties instead.
         */
        interface IAcquireLockResponse extends engram.v3.AcquireLockResponse.$Properties {
        }

        /** Represents an AcquireLockResponse. */
        class AcquireLockResponse {

            /**
             * Constructs a new AcquireLockResponse.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.AcquireLockResponse.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** AcquireLockResponse locks. */
            locks: engram.v3.Lock.$Properties[];

            /**
             * Creates a new AcquireLockResponse instance using the specified properties.
             * @param [properties] Properties to set
             * @returns AcquireLockResponse instance
             */
            static create(properties: engram.v3.AcquireLockResponse.$Shape): engram.v3.AcquireLockResponse & engram.v3.AcquireLockResponse.$Shape;
            static create(properties?: engram.v3.AcquireLockResponse.$Properties): engram.v3.AcquireLockResponse;

            /**
             * Encodes the specified AcquireLockResponse message. Does not implicitly {@link engram.v3.AcquireLockResponse.verify|verify} messages.
             * @param message AcquireLockResponse message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.AcquireLockResponse.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an AcquireLockResponse message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.AcquireLockResponse & engram.v3.AcquireLockResponse.$Shape} AcquireLockResponse
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.AcquireLockResponse & engram.v3.AcquireLockResponse.$Shape;

            /**
             * Gets the type url for AcquireLockResponse
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace AcquireLockResponse {

            /** Properties of an AcquireLockResponse. */
            interface $Properties {

                /** AcquireLockResponse locks */
                locks?: (engram.v3.Lock.$Properties[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of an AcquireLockResponse. */
            type $Shape = engram.v3.AcquireLockResponse.$Properties;
        }

        /**
         * Properties of a RenewLockRequest.
         * @deprecated Use engram.v3.RenewLockRequest.$Properties instead.
         */
        interface IRenewLockRequest extends engram.v3.RenewLockRequest.$Properties {
        }

        /** Represents a RenewLockRequest. */
        class RenewLockRequest {

            /**
             * Constructs a new RenewLockRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.RenewLockRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** RenewLockRequest resource. */
            resource: string;

            /** RenewLockRequest agentId. */
            agentId: string;

            /** RenewLockRequest lockId. */
            lockId: string;

            /** RenewLockRequest ttlMs. */
            ttlMs?: (number|Long|null);

            /**
             * Creates a new RenewLockRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns RenewLockRequest instance
             */
            static create(properties: engram.v3.RenewLockRequest.$Shape): engram.v3.RenewLockRequest & engram.v3.RenewLockRequest.$Shape;
            static create(properties?: engram.v3.RenewLockRequest.$Properties): engram.v3.RenewLockRequest;

            /**
             * Encodes the specified RenewLockRequest message. Does not implicitly {@link engram.v3.RenewLockRequest.verify|verify} messages.
             * @param message RenewLockRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.RenewLockRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a RenewLockRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.RenewLockRequest & engram.v3.RenewLockRequest.$Shape} RenewLockRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.RenewLockRequest & engram.v3.RenewLockRequest.$Shape;

            /**
             * Gets the type url for RenewLockRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace RenewLockRequest {

            /** Properties of a RenewLockRequest. */
            interface $Properties {

                /** RenewLockRequest resource */
                resource?: (string|null);

                /** RenewLockRequest agentId */
                agentId?: (string|null);

                /** RenewLockRequest lockId */
                lockId?: (string|null);

                /** RenewLockRequest ttlMs */
                ttlMs?: (number|Long|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a RenewLockRequest. */
            type $Shape = engram.v3.RenewLockRequest.$Properties;
        }

        /**
         * Properties of a ReleaseLockRequest.
         * @deprecated Use engram.v3.ReleaseLockRequest.$Properties instead.
         */
        interface IReleaseLockRequest extends engram.v3.ReleaseLockRequest.$Properties {
        }

        /** Represents a ReleaseLockRequest. */
        class ReleaseLockRequest {

            /**
             * Constructs a new ReleaseLockRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.ReleaseLockRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ReleaseLockRequest resource. */
            resource: string;

            /** ReleaseLockRequest agentId. */
            agentId: string;

            /** ReleaseLockRequest lockId. */
            lockId: string;

            /**
             * Creates a new ReleaseLockRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ReleaseLockRequest instance
             */
            static create(properties: engram.v3.ReleaseLockRequest.$Shape): engram.v3.ReleaseLockRequest & engram.v3.ReleaseLockRequest.$Shape;
            static create(properties?: engram.v3.ReleaseLockRequest.$Properties): engram.v3.ReleaseLockRequest;

            /**
             * Encodes the specified ReleaseLockRequest message. Does not implicitly {@link engram.v3.ReleaseLockRequest.verify|verify} messages.
             * @param message ReleaseLockRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.ReleaseLockRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ReleaseLockRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.ReleaseLockRequest & engram.v3.ReleaseLockRequest.$Shape} ReleaseLockRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.ReleaseLockRequest & engram.v3.ReleaseLockRequest.$Shape;

            /**
             * Gets the type url for ReleaseLockRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace ReleaseLockRequest {

            /** Properties of a ReleaseLockRequest. */
            interface $Properties {

                /** ReleaseLockRequest resource */
                resource?: (string|null);

                /** ReleaseLockRequest agentId */
                agentId?: (string|null);

                /** ReleaseLockRequest lockId */
                lockId?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ReleaseLockRequest. */
            type $Shape = engram.v3.ReleaseLockRequest.$Properties;
        }

        /**
         * Properties of a GetLockRequest.
         * @deprecated Use engram.v3.GetLockRequest.$Properties instead.
         */
        interface IGetLockRequest extends engram.v3.GetLockRequest.$Properties {
        }

        /** Represents a GetLockRequest. */
        class GetLockRequest {

            /**
             * Constructs a new GetLockRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.GetLockRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** GetLockRequest resource. */
            resource: string;

            /**
             * Creates a new GetLockRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns GetLockRequest instance
             */
            static create(properties: engram.v3.GetLockRequest.$Shape): engram.v3.GetLockRequest & engram.v3.GetLockRequest.$Shape;
            static create(properties?: engram.v3.GetLockRequest.$Properties): engram.v3.GetLockRequest;

            /**
             * Encodes the specified GetLockRequest message. Does not implicitly {@link engram.v3.GetLockRequest.verify|verify} messages.
             * @param message GetLockRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.GetLockRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a GetLockRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.GetLockRequest & engram.v3.GetLockRequest.$Shape} GetLockRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.GetLockRequest & engram.v3.GetLockRequest.$Shape;

            /**
             * Gets the type url for GetLockRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace GetLockRequest {

            /** Properties of a GetLockRequest. */
            interface $Properties {

                /** GetLockRequest resource */
                resource?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a GetLockRequest. */
            type $Shape = engram.v3.GetLockRequest.$Properties;
        }

        /** SearchMode enum. */
        enum SearchMode {

            /** SEARCH_MODE_UNSPECIFIED value */
            SEARCH_MODE_UNSPECIFIED = 0,

            /** SEARCH_MODE_HYBRID value */
            SEARCH_MODE_HYBRID = 1,

            /** SEARCH_MODE_KEYWORD value */
            SEARCH_MODE_KEYWORD = 2,

            /** SEARCH_MODE_VECTOR value */
            SEARCH_MODE_VECTOR = 3
        }

        /**
         * Properties of a SearchRequest.
         * @deprecated Use engram.v3.SearchRequest.$Properties instead.
         */
        interface ISearchRequest extends engram.v3.SearchRequest.$Properties {
        }

        /** Represents a SearchRequest. */
        class SearchRequest {

            /**
             * Constructs a new SearchRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.SearchRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** SearchRequest query. */
            query: string;

            /** SearchRequest vector. */
            vector: number[];

            /** SearchRequest mode. */
            mode: engram.v3.SearchMode;

            /** SearchRequest contextIds. */
            contextIds: string[];

            /** SearchRequest agentIds. */
            agentIds: string[];

            /** SearchRequest types. */
            types: engram.v3.WorkUnitType[];

            /** SearchRequest meta. */
            meta: { [k: string]: string };

            /** SearchRequest since. */
            since?: (google.protobuf.Timestamp.$Properties|null);

            /** SearchRequest until. */
            until?: (google.protobuf.Timestamp.$Properties|null);

            /** SearchRequest limit. */
            limit: number;

            /** SearchRequest offset. */
            offset: number;

            /** SearchRequest fresh. */
            fresh: boolean;

            /**
             * Creates a new SearchRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns SearchRequest instance
             */
            static create(properties: engram.v3.SearchRequest.$Shape): engram.v3.SearchRequest & engram.v3.SearchRequest.$Shape;
            static create(properties?: engram.v3.SearchRequest.$Properties): engram.v3.SearchRequest;

            /**
             * Encodes the specified SearchRequest message. Does not implicitly {@link engram.v3.SearchRequest.verify|verify} messages.
             * @param message SearchRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.SearchRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a SearchRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.SearchRequest & engram.v3.SearchRequest.$Shape} SearchRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.SearchRequest & engram.v3.SearchRequest.$Shape;

            /**
             * Gets the type url for SearchRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace SearchRequest {

            /** Properties of a SearchRequest. */
            interface $Properties {

                /** SearchRequest query */
                query?: (string|null);

                /** SearchRequest vector */
                vector?: (number[]|null);

                /** SearchRequest mode */
                mode?: (engram.v3.SearchMode|null);

                /** SearchRequest contextIds */
                contextIds?: (string[]|null);

                /** SearchRequest agentIds */
                agentIds?: (string[]|null);

                /** SearchRequest types */
                types?: (engram.v3.WorkUnitType[]|null);

                /** SearchRequest meta */
                meta?: ({ [k: string]: string }|null);

                /** SearchRequest since */
                since?: (google.protobuf.Timestamp.$Properties|null);

                /** SearchRequest until */
                until?: (google.protobuf.Timestamp.$Properties|null);

                /** SearchRequest limit */
                limit?: (number|null);

                /** SearchRequest offset */
                offset?: (number|null);

                /** SearchRequest fresh */
                fresh?: (boolean|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a SearchRequest. */
            type $Shape = engram.v3.SearchRequest.$Properties;
        }

        /**
         * Properties of a SearchResult.
         * @deprecated Use engram.v3.SearchResult.$Properties instead.
         */
        interface ISearchResult extends engram.v3.SearchResult.$Properties {
        }

        /** Represents a SearchResult. */
        class SearchResult {

            /**
             * Constructs a new SearchResult.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.SearchResult.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** SearchResult workUnit. */
            workUnit?: (engram.v3.WorkUnit.$Properties|null);

            /** SearchResult score. */
            score: number;

            /** SearchResult keywordScore. */
            keywordScore?: (number|null);

            /** SearchResult vectorScore. */
            vectorScore?: (number|null);

            /**
             * Creates a new SearchResult instance using the specified properties.
             * @param [properties] Properties to set
             * @returns SearchResult instance
             */
            static create(properties: engram.v3.SearchResult.$Shape): engram.v3.SearchResult & engram.v3.SearchResult.$Shape;
            static create(properties?: engram.v3.SearchResult.$Properties): engram.v3.SearchResult;

            /**
             * Encodes the specified SearchResult message. Does not implicitly {@link engram.v3.SearchResult.verify|verify} messages.
             * @param message SearchResult message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.SearchResult.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a SearchResult message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.SearchResult & engram.v3.SearchResult.$Shape} SearchResult
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.SearchResult & engram.v3.SearchResult.$Shape;

            /**
             * Gets the type url for SearchResult
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace SearchResult {

            /** Properties of a SearchResult. */
            interface $Properties {

                /** SearchResult workUnit */
                workUnit?: (engram.v3.WorkUnit.$Properties|null);

                /** SearchResult score */
                score?: (number|null);

                /** SearchResult keywordScore */
                keywordScore?: (number|null);

                /** SearchResult vectorScore */
                vectorScore?: (number|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a SearchResult. */
            type $Shape = {
              workUnit?: engram.v3.WorkUnit.$Shape|null;
              score?: number|null;
              keywordScore?: number|null;
              vectorScore?: number|null;
              $unknowns?: Uint8Array[];
            };
        }

        /**
         * Properties of a SearchResponse.
         * @deprecated Use engram.v3.SearchResponse.$Properties instead.
         */
        interface ISearchResponse extends engram.v3.SearchResponse.$Properties {
        }

        /** Represents a SearchResponse. */
        class SearchResponse {

            /**
             * Constructs a new SearchResponse.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.SearchResponse.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** SearchResponse results. */
            results: engram.v3.SearchResult.$Properties[];

            /** SearchResponse total. */
            total: (number|Long);

            /** SearchResponse totalRelation. */
            totalRelation: string;

            /**
             * Creates a new SearchResponse instance using the specified properties.
             * @param [properties] Properties to set
             * @returns SearchResponse instance
             */
            static create(properties: engram.v3.SearchResponse.$Shape): engram.v3.SearchResponse & engram.v3.SearchResponse.$Shape;
            static create(properties?: engram.v3.SearchResponse.$Properties): engram.v3.SearchResponse;

            /**
             * Encodes the specified SearchResponse message. Does not implicitly {@link engram.v3.SearchResponse.verify|verify} messages.
             * @param message SearchResponse message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.SearchResponse.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a SearchResponse message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.SearchResponse & engram.v3.SearchResponse.$Shape} SearchResponse
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.SearchResponse & engram.v3.SearchResponse.$Shape;

            /**
             * Gets the type url for SearchResponse
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace SearchResponse {

            /** Properties of a SearchResponse. */
            interface $Properties {

                /** SearchResponse results */
                results?: (engram.v3.SearchResult.$Properties[]|null);

                /** SearchResponse total */
                total?: (number|Long|null);

                /** SearchResponse totalRelation */
                totalRelation?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a SearchResponse. */
            type $Shape = {
              results?: engram.v3.SearchResult.$Shape[]|null;
              total?: number|Long|null;
              totalRelation?: string|null;
              $unknowns?: Uint8Array[];
            };
        }

        /**
         * Properties of a SubscribeRequest.
         * @deprecated Use engram.v3.SubscribeRequest.$Properties instead.
         */
        interface ISubscribeRequest extends engram.v3.SubscribeRequest.$Properties {
        }

        /** Represents a SubscribeRequest. */
        class SubscribeRequest {

            /**
             * Constructs a new SubscribeRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.SubscribeRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** SubscribeRequest contextId. */
            contextId: string;

            /** SubscribeRequest since. */
            since?: (number|Long|null);

            /** SubscribeRequest epoch. */
            epoch?: (string|null);

            /** SubscribeRequest agentId. */
            agentId: string;

            /** SubscribeRequest presence. */
            presence: boolean;

            /** SubscribeRequest continueAfterTrim. */
            continueAfterTrim: boolean;

            /**
             * Creates a new SubscribeRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns SubscribeRequest instance
             */
            static create(properties: engram.v3.SubscribeRequest.$Shape): engram.v3.SubscribeRequest & engram.v3.SubscribeRequest.$Shape;
            static create(properties?: engram.v3.SubscribeRequest.$Properties): engram.v3.SubscribeRequest;

            /**
             * Encodes the specified SubscribeRequest message. Does not implicitly {@link engram.v3.SubscribeRequest.verify|verify} messages.
             * @param message SubscribeRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.SubscribeRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a SubscribeRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.SubscribeRequest & engram.v3.SubscribeRequest.$Shape} SubscribeRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.SubscribeRequest & engram.v3.SubscribeRequest.$Shape;

            /**
             * Gets the type url for SubscribeRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace SubscribeRequest {

            /** Properties of a SubscribeRequest. */
            interface $Properties {

                /** SubscribeRequest contextId */
                contextId?: (string|null);

                /** SubscribeRequest since */
                since?: (number|Long|null);

                /** SubscribeRequest epoch */
                epoch?: (string|null);

                /** SubscribeRequest agentId */
                agentId?: (string|null);

                /** SubscribeRequest presence */
                presence?: (boolean|null);

                /** SubscribeRequest continueAfterTrim */
                continueAfterTrim?: (boolean|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a SubscribeRequest. */
            type $Shape = engram.v3.SubscribeRequest.$Properties;
        }

        /**
         * Properties of a SubscribeEvent.
         * @deprecated Use engram.v3.SubscribeEvent.$Properties instead.
         */
        interface ISubscribeEvent extends engram.v3.SubscribeEvent.$Properties {
        }

        /** Represents a SubscribeEvent. */
        class SubscribeEvent {

            /**
             * Constructs a new SubscribeEvent.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.SubscribeEvent.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** SubscribeEvent subscribed. */
            subscribed?: (engram.v3.Subscribed.$Properties|null);

            /** SubscribeEvent workUnit. */
            workUnit?: (engram.v3.WorkUnit.$Properties|null);

            /** SubscribeEvent context. */
            context?: (engram.v3.Context.$Properties|null);

            /** SubscribeEvent lock. */
            lock?: (engram.v3.LockEvent.$Properties|null);

            /** SubscribeEvent deleted. */
            deleted?: (engram.v3.Deleted.$Properties|null);

            /** SubscribeEvent presence. */
            presence?: (engram.v3.PresenceEvent.$Properties|null);

            /** SubscribeEvent trimmed. */
            trimmed?: (engram.v3.Trimmed.$Properties|null);

            /** SubscribeEvent event. */
            event?: ("subscribed"|"workUnit"|"context"|"lock"|"deleted"|"presence"|"trimmed");

            /**
             * Creates a new SubscribeEvent instance using the specified properties.
             * @param [properties] Properties to set
             * @returns SubscribeEvent instance
             */
            static create(properties: engram.v3.SubscribeEvent.$Shape): engram.v3.SubscribeEvent & engram.v3.SubscribeEvent.$Shape;
            static create(properties?: engram.v3.SubscribeEvent.$Properties): engram.v3.SubscribeEvent;

            /**
             * Encodes the specified SubscribeEvent message. Does not implicitly {@link engram.v3.SubscribeEvent.verify|verify} messages.
             * @param message SubscribeEvent message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.SubscribeEvent.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a SubscribeEvent message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.SubscribeEvent & engram.v3.SubscribeEvent.$Shape} SubscribeEvent
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.SubscribeEvent & engram.v3.SubscribeEvent.$Shape;

            /**
             * Gets the type url for SubscribeEvent
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace SubscribeEvent {

            /** Properties of a SubscribeEvent. */
            interface $Properties {

                /** SubscribeEvent subscribed */
                subscribed?: (engram.v3.Subscribed.$Properties|null);

                /** SubscribeEvent workUnit */
                workUnit?: (engram.v3.WorkUnit.$Properties|null);

                /** SubscribeEvent context */
                context?: (engram.v3.Context.$Properties|null);

                /** SubscribeEvent lock */
                lock?: (engram.v3.LockEvent.$Properties|null);

                /** SubscribeEvent deleted */
                deleted?: (engram.v3.Deleted.$Properties|null);

                /** SubscribeEvent presence */
                presence?: (engram.v3.PresenceEvent.$Properties|null);

                /** SubscribeEvent trimmed */
                trimmed?: (engram.v3.Trimmed.$Properties|null);

                /** SubscribeEvent event */
                event?: ("subscribed"|"workUnit"|"context"|"lock"|"deleted"|"presence"|"trimmed");

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Narrowed shape of a SubscribeEvent. */
            type $Shape = {
              subscribed?: engram.v3.Subscribed.$Shape|null;
              workUnit?: engram.v3.WorkUnit.$Shape|null;
              context?: engram.v3.Context.$Shape|null;
              lock?: engram.v3.LockEvent.$Shape|null;
              deleted?: engram.v3.Deleted.$Shape|null;
              presence?: engram.v3.PresenceEvent.$Shape|null;
              trimmed?: engram.v3.Trimmed.$Shape|null;
              $unknowns?: Uint8Array[];
            } & (
              ({ event?: undefined; subscribed?: null; workUnit?: null; context?: null; lock?: null; deleted?: null; presence?: null; trimmed?: null }|{ event?: "subscribed"; subscribed: engram.v3.Subscribed.$Shape; workUnit?: null; context?: null; lock?: null; deleted?: null; presence?: null; trimmed?: null }|{ event?: "workUnit"; subscribed?: null; workUnit: engram.v3.WorkUnit.$Shape; context?: null; lock?: null; deleted?: null; presence?: null; trimmed?: null }|{ event?: "context"; subscribed?: null; workUnit?: null; context: engram.v3.Context.$Shape; lock?: null; deleted?: null; presence?: null; trimmed?: null }|{ event?: "lock"; subscribed?: null; workUnit?: null; context?: null; lock: engram.v3.LockEvent.$Shape; deleted?: null; presence?: null; trimmed?: null }|{ event?: "deleted"; subscribed?: null; workUnit?: null; context?: null; lock?: null; deleted: engram.v3.Deleted.$Shape; presence?: null; trimmed?: null }|{ event?: "presence"; subscribed?: null; workUnit?: null; context?: null; lock?: null; deleted?: null; presence: engram.v3.PresenceEvent.$Shape; trimmed?: null }|{ event?: "trimmed"; subscribed?: null; workUnit?: null; context?: null; lock?: null; deleted?: null; presence?: null; trimmed: engram.v3.Trimmed.$Shape })
            );
        }

        /**
         * Properties of a Trimmed.
         * @deprecated Use engram.v3.Trimmed.$Properties instead.
         */
        interface ITrimmed extends engram.v3.Trimmed.$Properties {
        }

        /** Represents a Trimmed. */
        class Trimmed {

            /**
             * Constructs a new Trimmed.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.Trimmed.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** Trimmed contextId. */
            contextId: string;

            /** Trimmed firstSeq. */
            firstSeq: (number|Long);

            /** Trimmed continues. */
            continues: boolean;

            /**
             * Creates a new Trimmed instance using the specified properties.
             * @param [properties] Properties to set
             * @returns Trimmed instance
             */
            static create(properties: engram.v3.Trimmed.$Shape): engram.v3.Trimmed & engram.v3.Trimmed.$Shape;
            static create(properties?: engram.v3.Trimmed.$Properties): engram.v3.Trimmed;

            /**
             * Encodes the specified Trimmed message. Does not implicitly {@link engram.v3.Trimmed.verify|verify} messages.
             * @param message Trimmed message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.Trimmed.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a Trimmed message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.Trimmed & engram.v3.Trimmed.$Shape} Trimmed
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.Trimmed & engram.v3.Trimmed.$Shape;

            /**
             * Gets the type url for Trimmed
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace Trimmed {

            /** Properties of a Trimmed. */
            interface $Properties {

                /** Trimmed contextId */
                contextId?: (string|null);

                /** Trimmed firstSeq */
                firstSeq?: (number|Long|null);

                /** Trimmed continues */
                continues?: (boolean|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a Trimmed. */
            type $Shape = engram.v3.Trimmed.$Properties;
        }

        /**
         * Properties of a Deleted.
         * @deprecated Use engram.v3.Deleted.$Properties instead.
         */
        interface IDeleted extends engram.v3.Deleted.$Properties {
        }

        /** Represents a Deleted. */
        class Deleted {

            /**
             * Constructs a new Deleted.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.Deleted.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** Deleted contextId. */
            contextId: string;

            /**
             * Creates a new Deleted instance using the specified properties.
             * @param [properties] Properties to set
             * @returns Deleted instance
             */
            static create(properties: engram.v3.Deleted.$Shape): engram.v3.Deleted & engram.v3.Deleted.$Shape;
            static create(properties?: engram.v3.Deleted.$Properties): engram.v3.Deleted;

            /**
             * Encodes the specified Deleted message. Does not implicitly {@link engram.v3.Deleted.verify|verify} messages.
             * @param message Deleted message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.Deleted.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a Deleted message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.Deleted & engram.v3.Deleted.$Shape} Deleted
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.Deleted & engram.v3.Deleted.$Shape;

            /**
             * Gets the type url for Deleted
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace Deleted {

            /** Properties of a Deleted. */
            interface $Properties {

                /** Deleted contextId */
                contextId?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a Deleted. */
            type $Shape = engram.v3.Deleted.$Properties;
        }

        /**
         * Properties of a Subscribed.
         * @deprecated Use engram.v3.Subscribed.$Properties instead.
         */
        interface ISubscribed extends engram.v3.Subscribed.$Properties {
        }

        /** Represents a Subscribed. */
        class Subscribed {

            /**
             * Constructs a new Subscribed.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.Subscribed.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** Subscribed contextId. */
            contextId: string;

            /** Subscribed headSeq. */
            headSeq: (number|Long);

            /** Subscribed epoch. */
            epoch: string;

            /**
             * Creates a new Subscribed instance using the specified properties.
             * @param [properties] Properties to set
             * @returns Subscribed instance
             */
            static create(properties: engram.v3.Subscribed.$Shape): engram.v3.Subscribed & engram.v3.Subscribed.$Shape;
            static create(properties?: engram.v3.Subscribed.$Properties): engram.v3.Subscribed;

            /**
             * Encodes the specified Subscribed message. Does not implicitly {@link engram.v3.Subscribed.verify|verify} messages.
             * @param message Subscribed message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.Subscribed.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a Subscribed message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.Subscribed & engram.v3.Subscribed.$Shape} Subscribed
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.Subscribed & engram.v3.Subscribed.$Shape;

            /**
             * Gets the type url for Subscribed
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace Subscribed {

            /** Properties of a Subscribed. */
            interface $Properties {

                /** Subscribed contextId */
                contextId?: (string|null);

                /** Subscribed headSeq */
                headSeq?: (number|Long|null);

                /** Subscribed epoch */
                epoch?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a Subscribed. */
            type $Shape = engram.v3.Subscribed.$Properties;
        }

        /**
         * Properties of a LockEvent.
         * @deprecated Use engram.v3.LockEvent.$Properties instead.
         */
        interface ILockEvent extends engram.v3.LockEvent.$Properties {
        }

        /** Represents a LockEvent. */
        class LockEvent {

            /**
             * Constructs a new LockEvent.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.LockEvent.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** LockEvent action. */
            action: string;

            /** LockEvent lock. */
            lock?: (engram.v3.Lock.$Properties|null);

            /**
             * Creates a new LockEvent instance using the specified properties.
             * @param [properties] Properties to set
             * @returns LockEvent instance
             */
            static create(properties: engram.v3.LockEvent.$Shape): engram.v3.LockEvent & engram.v3.LockEvent.$Shape;
            static create(properties?: engram.v3.LockEvent.$Properties): engram.v3.LockEvent;

            /**
             * Encodes the specified LockEvent message. Does not implicitly {@link engram.v3.LockEvent.verify|verify} messages.
             * @param message LockEvent message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.LockEvent.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a LockEvent message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.LockEvent & engram.v3.LockEvent.$Shape} LockEvent
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.LockEvent & engram.v3.LockEvent.$Shape;

            /**
             * Gets the type url for LockEvent
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace LockEvent {

            /** Properties of a LockEvent. */
            interface $Properties {

                /** LockEvent action */
                action?: (string|null);

                /** LockEvent lock */
                lock?: (engram.v3.Lock.$Properties|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a LockEvent. */
            type $Shape = engram.v3.LockEvent.$Properties;
        }

        /**
         * Properties of a PresenceMember.
         * @deprecated Use engram.v3.PresenceMember.$Properties instead.
         */
        interface IPresenceMember extends engram.v3.PresenceMember.$Properties {
        }

        /** Represents a PresenceMember. */
        class PresenceMember {

            /**
             * Constructs a new PresenceMember.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.PresenceMember.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** PresenceMember clientId. */
            clientId: string;

            /** PresenceMember agentId. */
            agentId: string;

            /** PresenceMember connections. */
            connections: number;

            /** PresenceMember since. */
            since?: (google.protobuf.Timestamp.$Properties|null);

            /**
             * Creates a new PresenceMember instance using the specified properties.
             * @param [properties] Properties to set
             * @returns PresenceMember instance
             */
            static create(properties: engram.v3.PresenceMember.$Shape): engram.v3.PresenceMember & engram.v3.PresenceMember.$Shape;
            static create(properties?: engram.v3.PresenceMember.$Properties): engram.v3.PresenceMember;

            /**
             * Encodes the specified PresenceMember message. Does not implicitly {@link engram.v3.PresenceMember.verify|verify} messages.
             * @param message PresenceMember message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.PresenceMember.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a PresenceMember message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.PresenceMember & engram.v3.PresenceMember.$Shape} PresenceMember
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.PresenceMember & engram.v3.PresenceMember.$Shape;

            /**
             * Gets the type url for PresenceMember
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace PresenceMember {

            /** Properties of a PresenceMember. */
            interface $Properties {

                /** PresenceMember clientId */
                clientId?: (string|null);

                /** PresenceMember agentId */
                agentId?: (string|null);

                /** PresenceMember connections */
                connections?: (number|null);

                /** PresenceMember since */
                since?: (google.protobuf.Timestamp.$Properties|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a PresenceMember. */
            type $Shape = engram.v3.PresenceMember.$Properties;
        }

        /**
         * Properties of a PresenceEvent.
         * @deprecated Use engram.v3.PresenceEvent.$Properties instead.
         */
        interface IPresenceEvent extends engram.v3.PresenceEvent.$Properties {
        }

        /** Represents a PresenceEvent. */
        class PresenceEvent {

            /**
             * Constructs a new PresenceEvent.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.PresenceEvent.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** PresenceEvent action. */
            action: string;

            /** PresenceEvent contextId. */
            contextId: string;

            /** PresenceEvent members. */
            members: engram.v3.PresenceMember.$Properties[];

            /**
             * Creates a new PresenceEvent instance using the specified properties.
             * @param [properties] Properties to set
             * @returns PresenceEvent instance
             */
            static create(properties: engram.v3.PresenceEvent.$Shape): engram.v3.PresenceEvent & engram.v3.PresenceEvent.$Shape;
            static create(properties?: engram.v3.PresenceEvent.$Properties): engram.v3.PresenceEvent;

            /**
             * Encodes the specified PresenceEvent message. Does not implicitly {@link engram.v3.PresenceEvent.verify|verify} messages.
             * @param message PresenceEvent message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.PresenceEvent.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a PresenceEvent message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.PresenceEvent & engram.v3.PresenceEvent.$Shape} PresenceEvent
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.PresenceEvent & engram.v3.PresenceEvent.$Shape;

            /**
             * Gets the type url for PresenceEvent
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace PresenceEvent {

            /** Properties of a PresenceEvent. */
            interface $Properties {

                /** PresenceEvent action */
                action?: (string|null);

                /** PresenceEvent contextId */
                contextId?: (string|null);

                /** PresenceEvent members */
                members?: (engram.v3.PresenceMember.$Properties[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a PresenceEvent. */
            type $Shape = engram.v3.PresenceEvent.$Properties;
        }

        /**
         * Properties of a GetPresenceRequest.
         * @deprecated Use engram.v3.GetPresenceRequest.$Properties instead.
         */
        interface IGetPresenceRequest extends engram.v3.GetPresenceRequest.$Properties {
        }

        /** Represents a GetPresenceRequest. */
        class GetPresenceRequest {

            /**
             * Constructs a new GetPresenceRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.GetPresenceRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** GetPresenceRequest contextId. */
            contextId: string;

            /**
             * Creates a new GetPresenceRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns GetPresenceRequest instance
             */
            static create(properties: engram.v3.GetPresenceRequest.$Shape): engram.v3.GetPresenceRequest & engram.v3.GetPresenceRequest.$Shape;
            static create(properties?: engram.v3.GetPresenceRequest.$Properties): engram.v3.GetPresenceRequest;

            /**
             * Encodes the specified GetPresenceRequest message. Does not implicitly {@link engram.v3.GetPresenceRequest.verify|verify} messages.
             * @param message GetPresenceRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.GetPresenceRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a GetPresenceRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.GetPresenceRequest & engram.v3.GetPresenceRequest.$Shape} GetPresenceRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.GetPresenceRequest & engram.v3.GetPresenceRequest.$Shape;

            /**
             * Gets the type url for GetPresenceRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace GetPresenceRequest {

            /** Properties of a GetPresenceRequest. */
            interface $Properties {

                /** GetPresenceRequest contextId */
                contextId?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a GetPresenceRequest. */
            type $Shape = engram.v3.GetPresenceRequest.$Properties;
        }

        /**
         * Properties of a Presence.
         * @deprecated Use engram.v3.Presence.$Properties instead.
         */
        interface IPresence extends engram.v3.Presence.$Properties {
        }

        /** Represents a Presence. */
        class Presence {

            /**
             * Constructs a new Presence.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.Presence.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** Presence contextId. */
            contextId: string;

            /** Presence members. */
            members: engram.v3.PresenceMember.$Properties[];

            /** Presence connections. */
            connections: number;

            /**
             * Creates a new Presence instance using the specified properties.
             * @param [properties] Properties to set
             * @returns Presence instance
             */
            static create(properties: engram.v3.Presence.$Shape): engram.v3.Presence & engram.v3.Presence.$Shape;
            static create(properties?: engram.v3.Presence.$Properties): engram.v3.Presence;

            /**
             * Encodes the specified Presence message. Does not implicitly {@link engram.v3.Presence.verify|verify} messages.
             * @param message Presence message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.Presence.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a Presence message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.Presence & engram.v3.Presence.$Shape} Presence
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.Presence & engram.v3.Presence.$Shape;

            /**
             * Gets the type url for Presence
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace Presence {

            /** Properties of a Presence. */
            interface $Properties {

                /** Presence contextId */
                contextId?: (string|null);

                /** Presence members */
                members?: (engram.v3.PresenceMember.$Properties[]|null);

                /** Presence connections */
                connections?: (number|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a Presence. */
            type $Shape = engram.v3.Presence.$Properties;
        }

        /**
         * Properties of a GetWindowRequest.
         * @deprecated Use engram.v3.GetWindowRequest.$Properties instead.
         */
        interface IGetWindowRequest extends engram.v3.GetWindowRequest.$Properties {
        }

        /** Represents a GetWindowRequest. */
        class GetWindowRequest {

            /**
             * Constructs a new GetWindowRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.GetWindowRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** GetWindowRequest contextId. */
            contextId: string;

            /** GetWindowRequest budget. */
            budget: number;

            /** GetWindowRequest query. */
            query: string;

            /** GetWindowRequest model. */
            model: string;

            /** GetWindowRequest encoding. */
            encoding: string;

            /** GetWindowRequest relevantShare. */
            relevantShare?: (number|null);

            /** GetWindowRequest relevantLimit. */
            relevantLimit?: (number|null);

            /** GetWindowRequest summaries. */
            summaries: boolean;

            /** GetWindowRequest summaryShare. */
            summaryShare?: (number|null);

            /**
             * Creates a new GetWindowRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns GetWindowRequest instance
             */
            static create(properties: engram.v3.GetWindowRequest.$Shape): engram.v3.GetWindowRequest & engram.v3.GetWindowRequest.$Shape;
            static create(properties?: engram.v3.GetWindowRequest.$Properties): engram.v3.GetWindowRequest;

            /**
             * Encodes the specified GetWindowRequest message. Does not implicitly {@link engram.v3.GetWindowRequest.verify|verify} messages.
             * @param message GetWindowRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.GetWindowRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a GetWindowRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.GetWindowRequest & engram.v3.GetWindowRequest.$Shape} GetWindowRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.GetWindowRequest & engram.v3.GetWindowRequest.$Shape;

            /**
             * Gets the type url for GetWindowRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace GetWindowRequest {

            /** Properties of a GetWindowRequest. */
            interface $Properties {

                /** GetWindowRequest contextId */
                contextId?: (string|null);

                /** GetWindowRequest budget */
                budget?: (number|null);

                /** GetWindowRequest query */
                query?: (string|null);

                /** GetWindowRequest model */
                model?: (string|null);

                /** GetWindowRequest encoding */
                encoding?: (string|null);

                /** GetWindowRequest relevantShare */
                relevantShare?: (number|null);

                /** GetWindowRequest relevantLimit */
                relevantLimit?: (number|null);

                /** GetWindowRequest summaries */
                summaries?: (boolean|null);

                /** GetWindowRequest summaryShare */
                summaryShare?: (number|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a GetWindowRequest. */
            type $Shape = engram.v3.GetWindowRequest.$Properties;
        }

        /**
         * Properties of a WindowUnit.
         * @deprecated Use engram.v3.WindowUnit.$Properties instead.
         */
        interface IWindowUnit extends engram.v3.WindowUnit.$Properties {
        }

        /** Represents a WindowUnit. */
        class WindowUnit {

            /**
             * Constructs a new WindowUnit.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.WindowUnit.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** WindowUnit seq. */
            seq: (number|Long);

            /** WindowUnit tokens. */
            tokens: number;

            /** WindowUnit reason. */
            reason: string;

            /** WindowUnit score. */
            score?: (number|null);

            /** WindowUnit workUnit. */
            workUnit?: (engram.v3.WorkUnit.$Properties|null);

            /**
             * Creates a new WindowUnit instance using the specified properties.
             * @param [properties] Properties to set
             * @returns WindowUnit instance
             */
            static create(properties: engram.v3.WindowUnit.$Shape): engram.v3.WindowUnit & engram.v3.WindowUnit.$Shape;
            static create(properties?: engram.v3.WindowUnit.$Properties): engram.v3.WindowUnit;

            /**
             * Encodes the specified WindowUnit message. Does not implicitly {@link engram.v3.WindowUnit.verify|verify} messages.
             * @param message WindowUnit message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.WindowUnit.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a WindowUnit message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.WindowUnit & engram.v3.WindowUnit.$Shape} WindowUnit
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.WindowUnit & engram.v3.WindowUnit.$Shape;

            /**
             * Gets the type url for WindowUnit
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace WindowUnit {

            /** Properties of a WindowUnit. */
            interface $Properties {

                /** WindowUnit seq */
                seq?: (number|Long|null);

                /** WindowUnit tokens */
                tokens?: (number|null);

                /** WindowUnit reason */
                reason?: (string|null);

                /** WindowUnit score */
                score?: (number|null);

                /** WindowUnit workUnit */
                workUnit?: (engram.v3.WorkUnit.$Properties|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a WindowUnit. */
            type $Shape = {
              seq?: number|Long|null;
              tokens?: number|null;
              reason?: string|null;
              score?: number|null;
              workUnit?: engram.v3.WorkUnit.$Shape|null;
              $unknowns?: Uint8Array[];
            };
        }

        /**
         * Properties of a ContextWindow.
         * @deprecated Use engram.v3.ContextWindow.$Properties instead.
         */
        interface IContextWindow extends engram.v3.ContextWindow.$Properties {
        }

        /** Represents a ContextWindow. */
        class ContextWindow {

            /**
             * Constructs a new ContextWindow.
             * @param [properties] Properties to set
             */
            constructor(properties?: engram.v3.ContextWindow.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ContextWindow contextId. */
            contextId: string;

            /** ContextWindow encoding. */
            encoding: string;

            /** ContextWindow exact. */
            exact: boolean;

            /** ContextWindow budget. */
            budget: number;

            /** ContextWindow tokens. */
            tokens: number;

            /** ContextWindow units. */
            units: engram.v3.WindowUnit.$Properties[];

            /** ContextWindow headSeq. */
            headSeq: (number|Long);

            /** ContextWindow recentFrom. */
            recentFrom: (number|Long);

            /** ContextWindow counted. */
            counted: number;

            /**
             * Creates a new ContextWindow instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ContextWindow instance
             */
            static create(properties: engram.v3.ContextWindow.$Shape): engram.v3.ContextWindow & engram.v3.ContextWindow.$Shape;
            static create(properties?: engram.v3.ContextWindow.$Properties): engram.v3.ContextWindow;

            /**
             * Encodes the specified ContextWindow message. Does not implicitly {@link engram.v3.ContextWindow.verify|verify} messages.
             * @param message ContextWindow message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: engram.v3.ContextWindow.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ContextWindow message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {engram.v3.ContextWindow & engram.v3.ContextWindow.$Shape} ContextWindow
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): engram.v3.ContextWindow & engram.v3.ContextWindow.$Shape;

            /**
             * Gets the type url for ContextWindow
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace ContextWindow {

            /** Properties of a ContextWindow. */
            interface $Properties {

                /** ContextWindow contextId */
                contextId?: (string|null);

                /** ContextWindow encoding */
                encoding?: (string|null);

                /** ContextWindow exact */
                exact?: (boolean|null);

                /** ContextWindow budget */
                budget?: (number|null);

                /** ContextWindow tokens */
                tokens?: (number|null);

                /** ContextWindow units */
                units?: (engram.v3.WindowUnit.$Properties[]|null);

                /** ContextWindow headSeq */
                headSeq?: (number|Long|null);

                /** ContextWindow recentFrom */
                recentFrom?: (number|Long|null);

                /** ContextWindow counted */
                counted?: (number|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ContextWindow. */
            type $Shape = {
              contextId?: string|null;
              encoding?: string|null;
              exact?: boolean|null;
              budget?: number|null;
              tokens?: number|null;
              units?: engram.v3.WindowUnit.$Shape[]|null;
              headSeq?: number|Long|null;
              recentFrom?: number|Long|null;
              counted?: number|null;
              $unknowns?: Uint8Array[];
            };
        }
    }
}

/** Namespace google. */
export namespace google {

    /** Namespace protobuf. */
    namespace protobuf {

        /**
         * Properties of a Timestamp.
         * @deprecated Use google.protobuf.Timestamp.$Properties instead.
         */
        interface ITimestamp extends google.protobuf.Timestamp.$Properties {
        }

        /** Represents a Timestamp. */
        class Timestamp {

            /**
             * Constructs a new Timestamp.
             * @param [properties] Properties to set
             */
            constructor(properties?: google.protobuf.Timestamp.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** Timestamp seconds. */
            seconds: (number|Long);

            /** Timestamp nanos. */
            nanos: number;

            /**
             * Creates a new Timestamp instance using the specified properties.
             * @param [properties] Properties to set
             * @returns Timestamp instance
             */
            static create(properties: google.protobuf.Timestamp.$Shape): google.protobuf.Timestamp & google.protobuf.Timestamp.$Shape;
            static create(properties?: google.protobuf.Timestamp.$Properties): google.protobuf.Timestamp;

            /**
             * Encodes the specified Timestamp message. Does not implicitly {@link google.protobuf.Timestamp.verify|verify} messages.
             * @param message Timestamp message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: google.protobuf.Timestamp.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a Timestamp message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {google.protobuf.Timestamp & google.protobuf.Timestamp.$Shape} Timestamp
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): google.protobuf.Timestamp & google.protobuf.Timestamp.$Shape;

            /**
             * Gets the type url for Timestamp
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace Timestamp {

            /** Properties of a Timestamp. */
            interface $Properties {

                /** Timestamp seconds */
                seconds?: (number|Long|null);

                /** Timestamp nanos */
                nanos?: (number|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a Timestamp. */
            type $Shape = google.protobuf.Timestamp.$Properties;
        }
    }
}
