/// Chat templates for `tokenizer.chat_template`.
public enum GemmaChatTemplate {
    /// The official Gemma 3 instruction-tuned template: the `chat_template` of Hugging Face
    /// `google/gemma-3-{1b,4b,12b,27b}-it` tokenizer_config.json, which llama.cpp's converter copies verbatim into the
    /// `-it` GGUFs (the base 270M GGUF has none). Text taken byte for byte, including the final newline.
    public static let gemma3 = #"""
    {{ bos_token }}
    {%- if messages[0]['role'] == 'system' -%}
        {%- if messages[0]['content'] is string -%}
            {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
        {%- else -%}
            {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}
        {%- endif -%}
        {%- set loop_messages = messages[1:] -%}
    {%- else -%}
        {%- set first_user_prefix = "" -%}
        {%- set loop_messages = messages -%}
    {%- endif -%}
    {%- for message in loop_messages -%}
        {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
            {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
        {%- endif -%}
        {%- if (message['role'] == 'assistant') -%}
            {%- set role = "model" -%}
        {%- else -%}
            {%- set role = message['role'] -%}
        {%- endif -%}
        {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
        {%- if message['content'] is string -%}
            {{ message['content'] | trim }}
        {%- elif message['content'] is iterable -%}
            {%- for item in message['content'] -%}
                {%- if item['type'] == 'image' -%}
                    {{ '<start_of_image>' }}
                {%- elif item['type'] == 'text' -%}
                    {{ item['text'] | trim }}
                {%- endif -%}
            {%- endfor -%}
        {%- else -%}
            {{ raise_exception("Invalid content type") }}
        {%- endif -%}
        {{ '<end_of_turn>\n' }}
    {%- endfor -%}
    {%- if add_generation_prompt -%}
        {{'<start_of_turn>model\n'}}
    {%- endif -%}

    """#

    /// The official Gemma 2 instruction-tuned template: the `chat_template` of Hugging Face `google/gemma-2-2b-it`
    /// tokenizer_config.json (the same for 9B and 27B), which llama.cpp vendors as
    /// `models/templates/google-gemma-2-2b-it.jinja`. Byte for byte, without a final newline. A system turn is an
    /// error in it (Gemma 2 has no system role).
    public static let gemma2 = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
        + "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        + "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
        + "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
        + "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"
}
