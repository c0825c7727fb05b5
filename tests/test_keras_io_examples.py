"""keras.io examples run as written there (only the import line changed), against the
numbers Keras 3.15 gives for the same program and weights (PyTorch backend where the
example needs it). Each found a difference that is now fixed, or (where its docstring says
so) printed what Keras prints at once and is kept so that it goes on doing so."""

import runpy
import sys
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).parent / "keras_io"


def run_example(name, monkeypatch):
    """The example's script run in minicnn (its first argument picks the library); its
    variables, for the test to read."""
    script = EXAMPLES / f"{name}.py"
    monkeypatch.setattr(sys, "argv", [str(script), "minicnn"])
    return runpy.run_path(str(script), run_name=f"keras_io_{name}")


# --- "English-to-Spanish translation with a sequence-to-sequence Transformer" -------------
# Custom layers that read and make masks, a list input with a mask each, a causal mask built
# with ops.tile of a tensor, positions looked up in an Embedding of sequence_length rows.
def test_the_translation_transformer_gives_kerass_numbers(monkeypatch):
    example = run_example("translation_transformer", monkeypatch)
    transformer, predicted = example["transformer"], example["p"]
    assert transformer.count_params() == 11554 and transformer.output_shape == (None, None, 50)
    assert [layer.name for layer in transformer.layers] == [
        "encoder_inputs",
        "decoder_inputs",
        "positional_embedding",
        "positional_embedding_1",
        "transformer_encoder",
        "transformer_decoder",
        "dropout_3",
        "dense_4",
    ]
    # The script's data (padded: the masks keep the padding out) and its weights, drawn
    # from NumPy in Keras' order of the weights.
    data = {"encoder_inputs": example["enc"], "decoder_inputs": example["dec"]}
    expected = [  # Keras 3.15 (PyTorch backend)
        [0.027806, 0.006391, 0.030467, 0.004846],
        [0.028248, 0.006391, 0.030882, 0.004458],
        [0.028277, 0.005976, 0.029773, 0.004581],
    ]
    np.testing.assert_allclose(predicted[0, :3, :4], expected, rtol=2e-4, atol=1e-6)
    padded = [[0.026185, 0.00534, 0.028688], [0.026286, 0.005233, 0.029012]]
    np.testing.assert_allclose(predicted[1, 7:9, :3], padded, rtol=2e-4, atol=1e-6)
    loss = transformer.evaluate(data, example["tgt"], verbose=0)[0]  # the output's mask weighs it
    np.testing.assert_allclose(loss, 4.047794, rtol=1e-5)


# --- Keras' guides "Working with RNNs" and "Transfer learning & fine-tuning" ---------------
# Summaries of Sequentials not built yet and built later, of encoder-decoder LSTMs with
# initial states, stateful layers; a frozen model's flag over an unfrozen inner one.
def prints_keras_lines(name, keras_lines, monkeypatch, capsys):
    run_example(name, monkeypatch)
    printed = capsys.readouterr().out
    missing = [line for line in keras_lines if line not in printed]
    assert not missing


def test_the_rnn_guide_prints_what_keras_prints(monkeypatch, capsys):
    keras_lines = [
        "│ embedding (Embedding)           │ ?                      │   0 (unbuilt) │",
        "False 0",
        "│ embedding (Embedding)           │ (None, 12, 64)         │        64,000 │",
        " Total params: 258,698 (1010.54 KB)",
        "['InputLayer', 'InputLayer', 'Embedding', 'Embedding', 'LSTM', 'LSTM', 'Dense']",
        "[(None, None), (None, None)] (None, 10)",
        "(20, 64) 2",
    ]
    prints_keras_lines("working_with_rnns", keras_lines, monkeypatch, capsys)


def test_the_transfer_learning_guide_prints_what_keras_prints(monkeypatch, capsys):
    keras_lines = [
        "weights: 4 ['gamma', 'beta', 'moving_mean', 'moving_variance']",
        "frozen ok",
        "False True 0",
        "6 2",
        "│ dense_8 (Dense)                 │ ?                      │   0 (unbuilt) │",
        "│ dense_8 (Dense)                 │ (1, 4)                 │            16 │",
    ]
    prints_keras_lines("transfer_learning", keras_lines, monkeypatch, capsys)


def test_the_sequential_model_guide_prints_what_keras_prints(monkeypatch, capsys):
    keras_lines = [
        "[]",
        "Number of weights after calling the model: 6",
        "[<Dense name=dense_7, built=True>]",
        "[(1, 123, 123, 32), (1, 121, 121, 32), (1, 119, 119, 32)]",
        "2 6",
        "dense_9 dense_12",
    ]
    prints_keras_lines("sequential_model", keras_lines, monkeypatch, capsys)


def test_the_functional_api_guide_prints_what_keras_prints(monkeypatch, capsys):
    keras_lines = [
        "(None, 784) float32 (None, 32, 32, 3)",
        " Total params: 55,050 (215.04 KB)",
        " Total params: 28,241 (110.32 KB)",
        " Total params: 387 (1.51 KB)",
        " Total params: 223,242 (872.04 KB)",
        "50 ['InputLayer', 'CustomDense']",
        "(1, 1) 6",
        "(1, 10, 1) (16, 8, 1)",
        "│ custom_rnn2 (CustomRNN2)        │ (16, 8, 1)             │         2,145 │",
    ]
    prints_keras_lines("functional_api_guide", keras_lines, monkeypatch, capsys)


def test_the_subclassing_guide_prints_what_keras_prints(monkeypatch, capsys):
    keras_lines = [
        "[2. 2.]",
        "[4. 4.]",
        "non-trainable weights: 1",
        "trainable_weights: []",
        "weights: 6",
        "losses ok",
        "fit ok",
        "['loss'] 2",
        "│ encoder (Encoder)               │ ?                      │        54,400 │",
        " Total params: 322,418 (1.23 MB)",
        "10 ['encoder', 'decoder']",
    ]
    prints_keras_lines("making_new_layers", keras_lines, monkeypatch, capsys)


def test_the_masking_guide_prints_what_keras_prints(monkeypatch, capsys):
    """Keras' guide "Understanding masking & padding": a user's compute_mask that splits the
    mask gives each half of the output its own (before, eager list outputs carried none);
    a user's layer's sublayers, built in its call, have their weights under its path."""
    keras_lines = [
        "[[  -1  711  632   71]",
        "(3, 6, 16) float32",
        "86272 (None, 32)",
        "(32, 32) 4 ['my_layer/embedding_3/embeddings', 'my_layer/lstm_2/lstm_cell/kernel', "
        "'my_layer/lstm_2/lstm_cell/recurrent_kernel', 'my_layer/lstm_2/lstm_cell/bias']",
        "[[False False False]\n [ True  True False]\n [ True  True  True]]",
        "26 (3, 10)",
        "(4, 12, 1) 353",
        "[[1 1 1 1 1 1 1 1 1 0 0 0]",
    ]
    prints_keras_lines("masking_and_padding", keras_lines, monkeypatch, capsys)


def test_the_training_guide_prints_what_keras_prints(monkeypatch, capsys):
    """Keras' guide "Training & evaluation with the built-in methods", with unshuffled
    batches: a metric of the user's that compares with == (before, Tensors' == was
    identity, and it counted nothing), a loss of None for an output (not trained on, and
    no output losses logged with one loss left), a model compiled again without metrics
    keeping its metrics (Keras 3's), evaluate's values with an output's metrics after the
    losses in the order of their names, ModelCheckpoint's lines."""
    keras_lines = [
        "{'categorical_true_positives': [1288.0, 1268.0, 1264.0], "
        "'loss': [2.4782, 2.3371, 2.2927]}",
        "{'loss': [2.5264], 'sparse_categorical_accuracy': [0.099], 'val_loss': [2.4314], "
        "'val_sparse_categorical_accuracy': [0.125]} 6 6",
        "{'loss': [2.645], 'sparse_categorical_accuracy': [0.125]}",
        "{'loss': [2.6386], 'sparse_categorical_accuracy': [0.099]}",
        "[15.7817, 0.5101, 14.7615, 0.125, 0.6434, 151.1664]",
        "{'class_output_categorical_accuracy': [0.0938], 'loss': [17.7209], "
        "'score_output_mean_absolute_error': [0.6489], "
        "'score_output_mean_absolute_percentage_error': [153.8255]}",
        "Epoch 12: early stopping",
        "\nEpoch 1: val_loss improved from None to 2.40639, saving model to ",
        "\nEpoch 2: finished saving model to ",
        "{'loss': [2.5577, 2.3025]}\n0.008847 6",
    ]
    prints_keras_lines("training_with_built_in_methods", keras_lines, monkeypatch, capsys)


def test_the_callbacks_guide_prints_what_keras_prints(monkeypatch, capsys):
    """Keras' guide "Writing your own callbacks": each hook's log keys, the running losses
    a callback prints, early stopping at the minimum loss, a rate set by a callback."""
    keras_lines = [
        "...Training: end of batch 0; got log keys: ['loss', 'mean_absolute_error']\n"
        "Start testing; got log keys: []",
        "End epoch 0 of training; got log keys: ['loss', 'mean_absolute_error', 'val_loss', "
        "'val_mean_absolute_error']",
        "...Predicting: end of batch 0; got log keys: ['outputs']\nStop predicting; got log "
        "keys: []",
        "Up to batch 1, the average loss is    3.07.",
        "The average loss for epoch 0 is    0.87 and mean absolute error is    0.57.",
        "The average loss for epoch 4 is    0.26 and mean absolute error is    0.43.\n"
        "Restoring model weights from the end of the best epoch.\nEpoch 5: early stopping",
        "\nEpoch 0: Learning rate is 0.1.\nUp to batch 0, the average loss is    0.28.",
    ]
    prints_keras_lines("writing_your_own_callbacks", keras_lines, monkeypatch, capsys)


def test_the_saving_guide_prints_what_keras_prints(monkeypatch, capsys):
    """Keras' guide "Save, serialize, and export models": Model(inputs, outputs) is a
    Functional; a layer of the user's whose config leaves its name out is found again by
    the graph's entry for it; a build of more arguments than the shape, restored by the
    layer's own build_from_config; build((8,)) read as 8 features; a loss given by name kept
    as that name in the compile config."""
    keras_lines = [
        "Functional True\n['InputLayer', 'CustomLayer', 'Dense']",
        "MyLayers>CustomLayer my_package>custom_fn",
        "Functional 33 [(32, 1), (1,)]",
        "MyLayers>KernelMult MyDense\n64 None",
        "subclassed weights ok ['subclassed_model/dense_1/kernel', "
        "'subclassed_model/dense_1/bias']",
        "custom variables ok ['bias', 'kernel', 'my_variable']",
        "0.01 [(8, 16), (16,)]\nmse ['mae']",
    ]
    prints_keras_lines("serialization_and_saving", keras_lines, monkeypatch, capsys)


def test_the_preprocessing_guide_prints_what_keras_prints(monkeypatch, capsys):
    """Keras' guide "Working with preprocessing layers" (Keras on TensorFlow, which its
    string layers need): adapted vocabularies, lookups and their inverse, encodings,
    hashing, CategoryEncoding's count_weights (before, an unknown call argument), and
    Discretization's adapted boundaries, which are now Keras' own (its summaries of the
    data, not exact quantiles)."""
    keras_lines = [
        "54 ['', '[UNK]', 'ῥ᾽', 'ἔλθωσι', 'οἵ', 'μὲν']",
        "[['a', 'c', 'd'], ['d', '[UNK]', 'b']]",
        "[-1, 42, 1138, 1000, 36, 12] [[5, 2, 1], [1, 3, 4]]",
        "[[26], [20], [17]]\n[[1], [7], [7]]",
        "[0.0, 0.5, 1.3]",
        "[[0.10000000149011612, 0.20000000298023224, 0.0, 0.0], [0.20000000298023224, 0.0, "
        "0.0, 0.0], [0.0, 0.20000000298023224, 0.30000001192092896, 0.0], [0.0, "
        "0.20000000298023224, 0.0, 0.4000000059604645]]",
        "[[2, 19, 14, 1, 9, 2, 1, 0]]",
        "41 ['[UNK]', 'the', 'side', 'you beside', 'you', 'with ease', 'with', 'will contain']",
        "[[5.461599826812744, 1.694599986076355, 0.0,",
        " Total params: 213 (852.00 B)",
    ]
    prints_keras_lines("preprocessing_layers", keras_lines, monkeypatch, capsys)


def test_the_customizing_saving_guide_prints_what_keras_prints(monkeypatch, capsys):
    """Keras' guide "Customizing Saving and Serialization": a Dense subclass's Variable of
    __init__ comes first in its weights and is its own to save (Dense's store holds its
    kernel and bias alone); save_assets and load_assets (before, never called); a build of
    more arguments than the shape, recorded under "shapes_dict" (before, the base build's
    output probe failed on weights the user's build had not made yet); a subclassed model
    saved and loaded by its registered class and automatic config (before, refused), its
    own compile config of functions rebuilt by deserialize_keras_object."""
    keras_lines = [
        "['special_arr', 'sequential/layer_with_custom_variables/kernel', "
        "'sequential/layer_with_custom_variables/bias'] 3",
        "custom variables restored (10,)",
        "save_assets []\nload_assets ['vocabulary.txt']\nassets Mary had a little lamb.",
        "True {'shapes_dict': {'input_shape': (8,), 'layer_init': 'random_normal'}, "
        "'layer_init': 'random_normal'}",
        "True [(8, 16), (16,), (16, 1), (1,)]\nbuild random_normal True",
        "compile_from_config ['loss_fn', 'metric', 'model_optimizer']",
        "str small_square_sum_loss ['accuracy', 'mean_pred']",
        "compile SGD ['accuracy', 'mean_pred']",
        "model_with_custom_compile True True ModelWithCustomCompile",
        "dict_keys(['accuracy', 'loss', 'mean_pred'])\nsmall_square_sum_loss True",
    ]
    prints_keras_lines("customizing_saving", keras_lines, monkeypatch, capsys)


def test_the_lstm_seq2seq_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's character-level seq2seq (weights set from one seed in both): training's
    history, and the inference models made of the loaded model's parts: a return_state
    LSTM's ``layer.output`` is its list of three tensors (before, one tensor that could not
    be unpacked), and the summary names the decoder LSTM's second call as Keras numbers
    it over every model (lstm_1[1][0]; before, [0][0]); the greedy decoding and the
    encoder's states to 4 places."""
    keras_lines = [
        "{'accuracy': [0.038, 0.031], 'loss': [3.048, 3.011], 'val_accuracy': [0.025, 0.025], "
        "'val_loss': [3.009, 2.981]}",
        "['InputLayer', 'InputLayer', 'LSTM', 'LSTM', 'Dense']",
        "│ lstm_1 (LSTM)       │ [(None, None,     │      2,368 │ input_layer_1[0]… │",
        "│ dense (Dense)       │ (None, None, 20)  │        340 │ lstm_1[1][0]      │",
        "Input sentence: go run\nDecoded sentence: 'httthththth'",
        "Input sentence: wow hello\nDecoded sentence: 'hhlllllllll'",
        "[[ 0.0903  0.1073 -0.0307  0.1995]\n [ 0.0999  0.0831 -0.0759  0.1772]]",
    ]
    prints_keras_lines("lstm_seq2seq", keras_lines, monkeypatch, capsys)


def test_the_timeseries_anomaly_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's Conv1D / Conv1DTranspose reconstruction autoencoder (weights set from one
    seed in both, dropout off): its summary, six epochs' losses, the reconstruction error's
    threshold and the anomalous test windows, as Keras 3.15 gives them."""
    keras_lines = [
        "│ conv1d_transpose_1              │ (None, 48, 32)         │         3,616 │",
        " Total params: 9,505 (37.13 KB)",
        "[-1.8526, 0.2156, -2.9234, 2.4556, -0.5198]",
        "{'loss': [4.103, 1.5, 0.938, 0.548, 0.342, 0.3], 'val_loss': [1.782, 1.019, 0.641, "
        "0.368, 0.297, 0.276]}",
        "Reconstruction error threshold:  0.5695",
        "Number of anomaly samples:  86",
        "Anomalous points: [301, 302, 303] 40",
    ]
    prints_keras_lines("timeseries_anomaly_detection", keras_lines, monkeypatch, capsys)


def test_the_knowledge_distillation_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's Distiller (Keras 3's: its own compute_loss, weights set from one seed):
    the distillation loss reaches the teacher's trainable weights through the targets it
    gives the KL divergence (before, a loss's targets were constants, so the teacher stayed
    and the losses differed), and evaluate calls a compute_loss that takes no training
    argument without one (before, a TypeError), as Keras does."""
    keras_lines = [
        "{'loss': [2.179, 1.445], 'sparse_categorical_accuracy': [0.26, 0.49]}\n[1.251, 0.562]",
        "{'loss': [0.718, 0.257], 'sparse_categorical_accuracy': [0.271, 0.49]}\n12 12\n"
        "[0.228, 0.562]",
        "{'loss': [2.24, 2.064], 'sparse_categorical_accuracy': [0.271, 0.49]}\n[1.929, 0.562]",
    ]
    prints_keras_lines("knowledge_distillation", keras_lines, monkeypatch, capsys)


def test_the_compact_convolutional_transformer_example_prints_what_keras_prints(
    monkeypatch, capsys
):
    """keras.io's CCT (Keras 3's): a tokenizer layer holding a Sequential of convolutions,
    a position embedding cut with ops.slice and broadcast to its input, `+=` on symbolic
    tensors, stochastic depth with a SeedGenerator, sequence pooling with ops.matmul, and a
    best-only weights checkpoint loaded back. It printed what Keras prints at once; kept so
    that it goes on doing so."""
    keras_lines = [
        "│ cct_tokenizer               │ (None, 16, 16)          │          1,368 │ data_",
        "│ sequence_pooling            │ (None, 16)              │             17 │ layer",
        " Total params: 7,379 (28.82 KB)",
        "[[-0.24529999494552612, -0.7246999740600586, -0.4846999943256378,",
        "[2.4933, 0.125, 0.5]",
        "['accuracy', 'loss', 'top-5-accuracy', 'val_accuracy', 'val_loss', "
        "'val_top-5-accuracy'] 2\nTrue\n(2, 16, 16) 2\n(2, 4)",
    ]
    prints_keras_lines("compact_convolutional_transformer", keras_lines, monkeypatch, capsys)


def test_the_mlp_image_classification_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's MLP-Mixer, FNet and gMLP (Keras 3's): an adapted Normalization in an
    augmentation Sequential, patches from ops.image.extract_patches, ops.fft2 of a (real,
    imaginary) pair, ops.split, Sequentials of custom blocks, and ReduceLROnPlateau's
    learning_rate in the history. Normalization's mean was the weight's (3,), where Keras'
    layer.mean is shaped to broadcast against a batch, (1, 1, 1, 3)."""
    keras_lines = [
        "Patches per image: 16\nElements per patch (3 channels): 48\n"
        "[[[[126.8949966430664, 128.06399536132812, 127.25199890136719]]]]\n"
        "[[1.2187999486923218, -0.03240000084042549], [-0.4465999901294708, "
        "-0.45089998841285706]]\n2169 [(16, 16), (16,), (16, 16), (16,)]",
        "[[-0.7350000143051147, 1.034999966621399, 0.0957999974489212,",
        "[[-0.05920000001788139, -1.4973000288009644, 0.32899999618530273,",
        "[[-0.1257999986410141, -0.8032000064849854, -0.7091000080108643,",
        "['acc', 'learning_rate', 'loss', 'top5-acc', 'val_acc', 'val_loss', 'val_top5-acc'] 3",
        "│ data_augmentation (Sequential)  │ (None, 16, 16, 3)      │             7 │",
        "│ dense_23 (Dense)                │ (None, 10)             │            90 │",
    ]
    prints_keras_lines("mlp_image_classification", keras_lines, monkeypatch, capsys)


def test_the_subclassing_conv_layers_recipe_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's "Customizing the convolution operation of a Conv2D layer" (Keras 3's, run
    in Keras' PyTorch backend, whose JAX backend refuses ops.moments of self.kernel): a
    Sequential started by an InputLayer (before, a layer like any other: the model was not
    built), a Conv2D subclass whose call reads self.kernel (before: no attribute, in the
    output shape's probe) and calls self.convolution_op (before: none), another that
    replaces convolution_op (before: never called)."""
    keras_lines = [
        "│ standardized_conv2d_with_call   │ (None, 12, 12, 8)      │            80 │",
        "│ standardized_conv2d_with_overr… │ (None, 4, 4, 16)       │         1,168 │",
        " Total params: 1,898 (7.41 KB)",
        "[[0.21699999272823334, 0.0026000000070780516, 0.02930000051856041,",
        "True -65.92\n[0.0, 0.0, 0.04699999839067459, 0.0020000000949949026, 0.0, 0.0, 0.0, "
        "0.014000000432133675, 0.07100000232458115, 0.0, 0.23399999737739563, "
        "0.0010000000474974513, 0.0, 0.07199999690055847, 0.014999999664723873, "
        "0.23800000548362732]\n(1, 10, 10, 2) 1\n[4.2834, 0.125]",
        "['StandardizedConv2DWithCall', 'MaxPooling2D', 'StandardizedConv2DWithOverride'] True",
    ]
    prints_keras_lines("subclassing_conv_layers", keras_lines, monkeypatch, capsys)


def test_the_antirectifier_recipe_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's Antirectifier (Keras 3's): a layer that keeps
    initializers.get("he_normal") and serializes it in its config. get gave a function
    (serialized as '<lambda>', so the saved model did not load); it is Keras' HeNormal now,
    with Keras 3.15's config (input_axes and output_axes). A layer's base config holds its
    dtype policy, as Keras' does (before: only a mixed policy's name)."""
    keras_lines = [
        "[[2.4110000133514404, 2.713200092315674, 0.8026999831199646,",
        "[3.4157, 0.1]\n['loss', 'sparse_categorical_accuracy', 'val_loss', "
        "'val_sparse_categorical_accuracy'] 2",
        "{'name': 'antirectifier', 'trainable': True, 'dtype': {'module': 'keras', "
        "'class_name': 'DTypePolicy', 'config': {'name': 'float32'}, 'registered_name': None}, "
        "'initializer': {'module': 'keras.initializers', 'class_name': 'HeNormal', 'config': "
        "{'seed': None, 'input_axes': None, 'output_axes': None}, 'registered_name': None}}\n"
        "Antirectifier HeNormal True",
    ]
    prints_keras_lines("antirectifier", keras_lines, monkeypatch, capsys)


def test_the_mixture_of_experts_recipe_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's standalone MoE layers (Keras 3's, of December 2025): expert kernels of
    three and five axes contracted with ops.tensordot and ops.conv, reshapes read from
    ops.shape of symbolic tensors, gates broadcast over the experts' axis. It printed what
    Keras prints at once; kept so that it goes on doing so."""
    keras_lines = [
        "│ conv2d_mo_e (Conv2DMoE)         │ (None, 12, 12, 8)      │           912 │",
        " Total params: 12,792 (49.97 KB)",
        "[[0.06539999693632126, 0.1501999944448471, 0.1607999950647354,",
        "[2.2877, 0.1875]\n['accuracy', 'loss', 'val_accuracy', 'val_loss'] 2",
    ]
    prints_keras_lines("mixture_of_experts", keras_lines, monkeypatch, capsys)


def test_the_pretrained_word_embeddings_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's pretrained word embeddings (Keras 3's, and its older Constant form): an
    Embedding built for one id (build((1,))) and then called on sequences (before: "built
    for input shape ()"), shown as (None, None, 8) as Keras' node 0 is, and
    Constant(embedding_matrix) (before: a number only)."""
    keras_lines = [
        "True [(30, 8)]\nTrue\n{'value': 3} False\n"
        "['class_name', 'config', 'module', 'registered_name']",
        "│ embedding (Embedding)           │ (None, None, 8)        │           240 │",
        " Non-trainable params: 240 (960.00 B)",
        "[[0.005100000184029341, 0.960099995136261, 0.03350000083446503,",
        "[6.3878, 0.175]\n['acc', 'loss', 'val_acc', 'val_loss'] True\n8 1",
    ]
    prints_keras_lines("pretrained_word_embeddings", keras_lines, monkeypatch, capsys)


def test_the_imbalanced_classification_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's imbalanced classification (Keras 3's, on small random data): class
    weights in fit, the confusion counts, precision and recall, and a checkpoint per epoch
    named with {epoch}. Its model.metrics_names were each metric's; Keras 3 lists the loss
    and one "compile_metrics", as minicnn now does."""
    keras_lines = [
        "[1.0103, 5.0, 5.0, 20.0, 0.0, 0.0, 0.0]",
        "['fraud_model_at_epoch_1.keras', 'fraud_model_at_epoch_2.keras']",
        "fn [6.0, 4.0]\nfp [17.0, 30.0]\nloss [0.0478, 0.0221]\nprecision [0.0556, 0.0909]",
        "val_loss [1.025, 1.6807]",
        "Sequential ['loss', 'compile_metrics'] 6",
    ]
    prints_keras_lines("imbalanced_classification", keras_lines, monkeypatch, capsys)


def test_the_character_level_text_generation_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's character-level LSTM text generation (Keras 3's): one-hot inputs and
    targets of dtype bool, RMSprop, predict in a sampling loop. It printed what Keras
    prints at once; kept so that it goes on doing so."""
    keras_lines = ["[3.1683, 2.869]", "...Diversity: 0.2 '                    '", "2.6968"]
    prints_keras_lines("character_level_text_generation", keras_lines, monkeypatch, capsys)


def test_the_involution_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's involution (ported to keras.ops): a layer that makes its sublayers (a
    Sequential, Reshapes, a pooling) in build, returns two tensors, and gathers patches
    with ops.image.extract_patches; weights' paths and training with batch norm as Keras'.
    It printed what Keras prints at once; kept so that it goes on doing so."""
    keras_lines = [
        "with stride 1 ouput shape: (2, 8, 8, 3)\nwith stride 2 ouput shape: (2, 4, 4, 3)\n"
        "with channel 16 and reduction ratio 2 ouput shape: (2, 8, 8, 3)",
        "│ inv_1 (Involution)              │ [(None, 12, 12, 3),    │            26 │",
        " Total params: 1,014 (3.96 KB)",
        "['inv_1/sequential_3/conv2d_6/kernel', 'inv_1/sequential_3/conv2d_6/bias', "
        "'inv_1/sequential_3/batch_normalization_3/gamma',",
        "[[-0.5576000213623047, 0.4749000072479248, 0.3334999978542328,",
        "[2.282, 2.265]",
    ]
    prints_keras_lines("involution", keras_lines, monkeypatch, capsys)


def test_the_pointnet_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's PointNet (Keras 3): a user's Regularizer subclass (whose get_config calls
    the base's, which Keras leaves unwritten) as a Dense's activity_regularizer, a Dense
    whose bias starts as an identity matrix, and Dot over the transform. The base
    Regularizer was minicnn's L1L2 (its get_config asked for l1); now it is Keras' abstract
    one."""
    keras_lines = [
        "│ dot (Dot)           │ (None, 32, 3)     │          0 │ input_layer[0][0… │",
        " Total params: 3,381 (13.21 KB)",
        "NotImplementedError True\n0.264\ndense_1 3\ndense_3 8",
        "[[0.24969999492168427, 0.25110000371932983, 0.2492000013589859, 0.25],",
        "activity losses [0.0475, 0.5978]\n['dense_1', 'dense_3']",
        "{'loss': [3.699, 3.145], 'sparse_categorical_accuracy': [0.292, 0.354], "
        "'val_loss': [74.0, 53.0], 'val_sparse_categorical_accuracy': [0.25, 0.25]}\n"
        "[2, 0, 0, 3]",
    ]
    prints_keras_lines("pointnet", keras_lines, monkeypatch, capsys)


def test_the_super_resolution_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's ESPCN super-resolution (Keras 3): Pillow images through array_to_img and
    img_to_array, a DepthToSpace layer of ops.shape, reshape and transpose on any image
    size, the Orthogonal initializer, a callback reading logs['loss'] at each test batch,
    and ModelCheckpoint(save_weights_only, save_best_only) read back by load_weights.
    array_to_img rounded scaled values where Keras cuts them, so the images differed."""
    keras_lines = [
        "(40, 24, 24, 1) float32 0.5122\n(40, 8, 8, 1) 0.5119",
        "│ depth_to_space (DepthToSpace)   │ (None, None, None, 1)  │             0 │",
        "orthogonal True\n(1, 24, 24, 1) (1, 15, 21, 1)\nMean PSNR for epoch: -1.54\n"
        "Mean PSNR for epoch: 5.15\nMean PSNR for epoch: 7.37",
        "{'loss': [4.7118, 0.8897, 0.2407], 'val_loss': [1.4254, 0.3056, 0.1834]}\n"
        "restored True\n['checkpoint.weights.h5']\nL (24, 24)\n(1, 24, 24, 1) float32 0.3311\n"
        "(24, 24) [15, 86, 134, 83, 128, 205]",
    ]
    prints_keras_lines("super_resolution", keras_lines, monkeypatch, capsys)


def test_the_miniature_gpt_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's text generation with a miniature GPT (Keras 3, run there with PyTorch,
    whose tracing takes its causal mask): a mask tiled by ops.shape's batch size, a model of
    two outputs compiled with loss=[loss_fn, None] and fitted with the first output's
    targets alone, ops.top_k in a callback that calls predict. minicnn asked y for both
    outputs, and its tensors had no tolist."""
    keras_lines = [
        '20 (19, 10) (19, 10)\nModel: "functional_1"',
        "│ transformer_block               │ (None, 10, 16)         │         2,768 │",
        " Total params: 3,588 (14.02 KB)",
        "[[[1, 0, 0], [1, 1, 0], [1, 1, 1]], [[1, 0, 0], [1, 1, 0], [1, 1, 1]]]\n"
        "generated text:\nthis movie is but but film film film\n\n"
        "generated text:\nthis movie is but but film film film\n\n"
        "generated text:\nthis movie is film show show actors actors\n\n"
        "{'loss': [3.988, 3.7287, 3.5035]}\nlist [(2, 10, 20), (2, 10, 16)]\n3.37422",
    ]
    prints_keras_lines("miniature_gpt", keras_lines, monkeypatch, capsys)


def test_the_conv_lstm_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's next-frame prediction with ConvLSTM2D (moving squares for Moving MNIST):
    three ConvLSTM2D over sequences of any length, batch norm between, a Conv3D head, and
    ReduceLROnPlateau, whose message shows the float32 rate as Keras' does (minicnn's
    optimizers held a float64 rate and printed 0.0001)."""
    keras_lines = [
        "Training Dataset Shapes: (18, 6, 8, 8, 1), (18, 6, 8, 8, 1)",
        "│ conv_lstm2d (ConvLSTM2D)        │ (None, None, 8, 8, 4)  │         2,016 │",
        "│ conv3d (Conv3D)                 │ (None, None, 8, 8, 1)  │           109 │",
        " Total params: 3,469 (13.55 KB)",
        "['conv_lstm2d/conv_lstm_cell/kernel', 'conv_lstm2d/conv_lstm_cell/recurrent_kernel', ",
        "[(5, 5, 1, 16), (5, 5, 4, 16), (16,)]",
        "\nEpoch 2: ReduceLROnPlateau reducing learning rate to 0.00010000000474974513.\n\n"
        "Epoch 3: ReduceLROnPlateau reducing learning rate to 1.0000000474974514e-05.\n",
        "{'loss': [0.7118, 0.6945, 0.6839, 0.6829], 'val_loss': [0.6843, 0.6807, 0.6797, "
        "0.6792], 'learning_rate': [0.001, 0.001, 0.0001, 0.0]}",
        "(6, 8, 8, 1) [0.4961000084877014, 0.4950000047683716, 0.4945000112056732]",
    ]
    prints_keras_lines("conv_lstm", keras_lines, monkeypatch, capsys)


def test_the_endpoint_layer_pattern_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's endpoint layer pattern (Keras 3): a layer whose call takes logits and,
    optionally, targets and sample weights, called with three tensors (the training model,
    compiled without a loss: the layer adds it) and with one (the inference model), and a
    subclassed model whose input is a dict, its endpoint called by keywords. minicnn spread a
    call's tensors only when two or more were required, read the second as ``training``,
    and took one array alone as a subclassed model's input."""
    keras_lines = [
        "│ logistic_endpoint   │ (None, 1)         │          0 │ dense[0][0],      │\n"
        "│ (LogisticEndpoint)  │                   │            │ targets[0][0],    │\n"
        "│                     │                   │            │ sample_weight[0]… │",
        "{'loss': [0.35478, 0.35318]}\n0.35229\n"
        "[0.09228000044822693, 0.09284999966621399, 0.09151999652385712]",
        "(5, 1) [1.0, 1.0, 1.0, 1.0, 1.0]\n0 1 0.18725\n"
        "LogisticEndpoint ['inputs', 'targets', 'sample_weight']",
        "{'loss': [0.35478, 0.35318]}\n['log_reg/dense_2/kernel', 'log_reg/dense_2/bias'] 1 "
        "0.35229\n(40, 1)",
    ]
    prints_keras_lines("endpoint_layer_pattern", keras_lines, monkeypatch, capsys)


def test_the_volume_classification_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's 3D image classification from CT scans (cut to 8x8x6 volumes): Conv3D,
    MaxPool3D and GlobalAveragePooling3D fed volumes without their channel axis (Keras'
    functional models add it), metrics=["acc"] watched by EarlyStopping('val_acc') in the
    'auto' mode, a staircase ExponentialDecay, and the best model saved and loaded. minicnn
    refused the volumes and 'val_acc' in the auto mode, computed the schedule in float64,
    and wrote its config without its name."""
    keras_lines = [
        "│ conv3d (Conv3D)                 │ (None, 6, 6, 4, 4)     │           112 │",
        "│ max_pooling3d (MaxPooling3D)    │ (None, 3, 3, 2, 4)     │             0 │",
        " Total params: 197 (788.00 B)",
        "[0.009999999776482582, 0.009999999776482582, 0.009599999524652958, 0.009215999394655228]",
        "{'acc': [0.25, 0.75, 0.875], 'loss': [0.7268, 0.6823, 0.6696], 'val_acc': [0.5, 0.5, "
        "0.5], 'val_loss': [0.6944, 0.6963, 0.6949]}\n3 0.0084935 12",
        "3dcnn ['loss', 'compile_metrics'] {'module': 'keras.optimizers.schedules', "
        "'class_name': 'ExponentialDecay', 'config': {'initial_learning_rate': 0.01, "
        "'decay_steps': 3, 'decay_rate': 0.96, 'staircase': True, 'name': 'ExponentialDecay'}, "
        "'registered_name': None}",
        "This model is 49.68 percent confident that CT scan is normal",
    ]
    prints_keras_lines("volume_classification", keras_lines, monkeypatch, capsys)


def test_the_memory_efficient_embeddings_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's memory-efficient embeddings (ids for StringLookup, which needs TensorFlow
    in Keras 3): a quotient-remainder embedding of ops.floor_divide and ops.mod, a
    mixed-dimension one whose blocks' layers fill lists in a loop, and
    keras.activations.sigmoid on a functional model's tensor. minicnn tracked only the
    layers a list held when assigned, and its activations took no symbolic tensor."""
    keras_lines = [
        "│ movie_embedding     │ (None, 8)         │        216 │ movie_id[0][0]    │",
        "│ sigmoid (Sigmoid)   │ (None, 1)         │          0 │ dot_similarity[0… │",
        " Total params: 352 (1.38 KB)",
        "['user_embedding/embedding/embeddings', 'user_embedding/embedding_1/embeddings', "
        "'movie_embedding/embedding_2/embeddings', 'movie_embedding/embedding_3/embeddings', "
        "'movie_embedding/dense/kernel', 'movie_embedding/dense/bias', "
        "'movie_embedding/embedding_4/embeddings', 'movie_embedding/dense_1/kernel', "
        "'movie_embedding/dense_1/bias']",
        "{'loss': [3.3431, 3.0985, 2.9091], 'mae': [1.5876, 1.5265, 1.4765], 'val_loss': "
        "[3.3142, 3.2905, 3.2768], 'val_mae': [1.5563, 1.5575, 1.5588]}\n"
        "[[2.531599998474121], [2.6501998901367188]]",
    ]
    prints_keras_lines("memory_efficient_embeddings", keras_lines, monkeypatch, capsys)


def test_the_convmixer_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's ConvMixer: a patch stem, depthwise and pointwise convolutions with gelu,
    batch norm and residual Adds, AdamW, the best weights kept by ModelCheckpoint on
    val_accuracy and loaded back, and the depthwise kernels found by their config's
    kernel_size, which Keras gives as a tuple (minicnn gave lists)."""
    keras_lines = [
        "Training data samples: 24",
        " Total params: 658 (2.57 KB)",
        "Test accuracy: 12.5%\n{'accuracy': [0.0417, 0.125, 0.125], 'loss': [2.3331, 2.3221, "
        "2.3126], 'val_accuracy': [0.125, 0.125, 0.125], 'val_loss': [2.2584, 2.2609, 2.2634]}",
        "(2, 2, 3, 8) 0.3227\n5 depthwise_conv2d (3, 3, 8, 1)\n12 depthwise_conv2d_1 (3, 3, 8, 1)"
        "\n0.0001",
    ]
    prints_keras_lines("convmixer", keras_lines, monkeypatch, capsys)


def test_the_eanet_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's EANet (external attention, in keras.ops): patches by
    ops.image.extract_patches, ops.reshape and ops.transpose on a functional model's
    tensors, a Softmax over axis 2 and a double normalization by ops.sum, Dense with
    activation=ops.gelu, label smoothing, AdamW and TopKCategoricalAccuracy. It printed
    what Keras prints at once; kept so that it goes on doing so."""
    keras_lines = [
        "x_train shape: (40, 8, 8, 3) - y_train shape: (40, 5)\nPatch size: 2 X 2 = 4 \n"
        "Patches per image: 16",
        "│ patch_extract       │ (None, 16, 12)    │          0 │ data_augmentatio… │",
        "│ transpose           │ (None, 8, 16, 4)  │          0 │ reshape[0][0]     │",
        "│ sum (Sum)           │ (None, 8, 16, 1)  │          0 │ softmax[0][0]     │",
        " Total params: 1,784 (6.97 KB)",
        "{'accuracy': [0.25, 0.25], 'loss': [1.6424, 1.619], 'top-5-accuracy': [1.0, 1.0], "
        "'val_accuracy': [0.375, 0.375], 'val_loss': [1.5847, 1.5827], 'val_top-5-accuracy': "
        "[1.0, 1.0]}\nTest loss: 1.6\nTest accuracy: 30.0%\nTest top 5 accuracy: 100.0%",
    ]
    prints_keras_lines("eanet", keras_lines, monkeypatch, capsys)


def test_the_sklearn_metric_callback_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's scikit-learn metric callback (Keras 3: set_model, no tf.summary): a
    callback that predicts at each epoch's end and averages scikit-learn's per-class
    Jaccard scores with a Mean metric. minicnn's Mean had no ``count``."""
    keras_lines = [
        "x_train shape: (48, 10, 10, 1)\n48 train samples",
        "True\n{'accuracy': [0.2778, 0.25, 0.25], 'loss': [1.7263, 1.6799, 1.6432], "
        "'val_accuracy': [0.3333, 0.3333, 0.3333], 'val_loss': [2.0478, 1.9745, 1.9103]}",
        "[('jaccard_score', 0.0561, 1), ('jaccard_score', 0.0812, 2), "
        "('jaccard_score', 0.1066, 3)]\n3.5 3.5 6.0",
    ]
    prints_keras_lines("sklearn_metric_callbacks", keras_lines, monkeypatch, capsys)


def test_the_efficientnet_fine_tuning_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's fine-tuning of EfficientNetB0 (weights=None, 32x32 images): the
    application built on input_tensor, frozen whole (model.trainable = False), a new top,
    then its last 20 layers unfrozen but batch norm and recompiled. minicnn's applications
    refused input_tensor."""
    keras_lines = [
        "EfficientNet 241 rescaling top_activation\n4 314 4058534\n"
        "{'accuracy': [0.375, 0.625], 'loss': [1.428, 1.122]}\n12 306\n"
        "['block7a_expand_conv', 'block7a_expand_activation', 'block7a_dwconv', "
        "'block7a_activation', 'block7a_se_squeeze', 'block7a_se_reshape']\n"
        "{'accuracy': [0.625], 'loss': [1.074]}",
    ]
    prints_keras_lines("efficientnet_fine_tuning", keras_lines, monkeypatch, capsys)


def test_the_ner_transformers_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's named-entity recognition with transformers: a subclassed model of custom
    layers (a Sequential inside), built by a first call, and a Loss subclass that masks the
    padding itself with a SparseCategoricalCrossentropy(reduction=None). It printed what
    Keras prints at once; kept so that it goes on doing so."""
    keras_lines = [
        "22 ['ner_model/token_and_position_embedding/embedding/embeddings', "
        "'ner_model/token_and_position_embedding/embedding_1/embeddings', "
        "'ner_model/transformer_block/multi_head_attention/query/kernel', "
        "'ner_model/transformer_block/multi_head_attention/query/bias']",
        "custom_ner_loss sum_over_batch_size\n1.67259\n{'loss': [1.7413, 1.6951, 1.6588]}\n"
        "[2, 0, 2, 2, 0, 2, 0, 2, 0, 2] [2, 4, 4, 1, 2, 3, 4, 2, 3, 1]\n1.6414",
    ]
    prints_keras_lines("ner_transformers", keras_lines, monkeypatch, capsys)


def test_the_bidirectional_lstm_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's bidirectional LSTM on IMDB (reviews of word ids): pad_sequences, an
    Input of any length, two Bidirectional LSTMs. It printed what Keras prints at once;
    kept so that it goes on doing so."""
    keras_lines = [
        "40 Training sequences\n(40, 12) int32 [4, 1, 9, 40, 32, 45, 25, 30, 48, 36, 31, 27]",
        " Total params: 2,045 (7.99 KB)",
        "{'accuracy': [0.525, 0.525], 'loss': [0.7106, 0.7077], 'val_accuracy': [0.2, 0.2], "
        "'val_loss': [0.8532, 0.8438]}\n"
        "[0.39419999718666077, 0.3952000141143799, 0.39160001277923584]",
    ]
    prints_keras_lines("bidirectional_lstm_imdb", keras_lines, monkeypatch, capsys)


def test_the_mobilevit_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's MobileViT, cut to 32x32 images: MobileNetV2 blocks (ZeroPadding2D from
    correct_pad, which reads backend.image_data_format(); keras.activations.swish called on
    a functional model's tensors; ops.equal of two ints deciding the residual), patches
    folded by Reshape through Transformer blocks, label smoothing; the model saved as
    Keras' archive and loaded back with its optimizer."""
    keras_lines = [
        "│ zero_padding2d      │ (None, 17, 17,    │          0 │ silu_2[0][0]      │",
        "│ multi_head_attenti… │ (None, 4, 4, 16)  │      2,160 │ layer_normalizat… │",
        " Total params: 18,389 (71.83 KB)\n Trainable params: 17,973 (70.21 KB)\n"
        " Non-trainable params: 416 (1.62 KB)",
        "[[0.1663 0.2223 0.231  0.1923 0.1881]\n [0.1732 0.2427 0.2143 0.1812 0.1886]]\n"
        "[1.6392, 0.0625]\n['accuracy', 'loss', 'val_accuracy', 'val_loss']\n"
        "reloaded predicts the same: True 4",
    ]
    prints_keras_lines("mobilevit", keras_lines, monkeypatch, capsys)


def test_the_learnable_resizer_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's learnable image resizer, cut to 48 -> 32 pixels with a small MobileNetV2
    for DenseNet121: images resized by ops.image.resize, Resizing inside a model of any input
    size, one LeakyReLU shared as conv_block's default argument, the resizer nested in the
    classifier and trained with label smoothing."""
    keras_lines = [
        "(8, 48, 48, 3) (8, 2) 127.642",
        " Total params: 16,899 (66.01 KB)\n Trainable params: 16,707 (65.26 KB)",
        "['leaky_re_lu_1', 'leaky_re_lu_2', 'leaky_re_lu']\n(1, 32, 32, 3) "
        "[[1.2509000301361084, 0.6840999722480774], [1.3244999647140503, 0.42410001158714294]]",
        "│ mobilenetv2_0.35_32             │ (None, 2)              │       412,770 │",
        " Total params: 429,669 (1.64 MB)\n Trainable params: 415,397 (1.58 MB)\n"
        " Non-trainable params: 14,272 (55.75 KB)\n['accuracy', 'loss'] 181 116\n(1, 32, 32, 3)",
    ]
    prints_keras_lines("learnable_resizer", keras_lines, monkeypatch, capsys)


def test_the_perceiver_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's Perceiver (in keras.ops): a subclassed model whose own build adds the
    latent array (add_weight on the model) and makes its sub-models, called first by
    predict; a functional cross-attention model of a dict of inputs, called with a latent
    array of batch 1 beside the data's batch; patches by ops.image.extract_patches; the
    summary's "?" for the layers Keras builds when they are made (GlobalAveragePooling1D)
    and for a user's layer without compute_output_shape. minicnn had no weights of a
    model's own and did not call a subclassed model's build on its first call."""
    keras_lines = [
        "│ patch_encoder (PatchEncoder)    │ ?                      │           232 │",
        "│ functional_1 (Functional)       │ (None, 6, 8)           │           409 │",
        "│ global_average_pooling1d        │ ?                      │             0 │",
        "│ sequential_3 (Sequential)       │ (2, 10)                │           162 │",
        " Total params: 2,339 (9.14 KB)",
        "[(6, 8), (12, 8), (8,), (16, 8), (8,), (8,), (8,), (8,)] 57",
        "Test accuracy: 12.5%\nTest top 5 accuracy: 50.0%\n{'acc': [0.0556, 0.1111], 'loss': "
        "[2.5141, 2.4024], 'top5-acc': [0.5, 0.5], 'val_acc': [0.0, 0.1667], 'val_loss': "
        "[2.3645, 2.3279], 'val_top5-acc': [0.3333, 0.3333], 'learning_rate': [0.001, 0.001]}",
    ]
    prints_keras_lines("perceiver", keras_lines, monkeypatch, capsys)


def test_the_cait_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's CaiT, in keras.ops and cut small: a subclassed model that keeps its CLS
    token and position embedding as Variables of its own and returns a tuple of logits and
    two dicts of attention scores (predict gives them back so); functional blocks of two
    outputs made of user layers that return tuples; summary(expand_nested=True), whose
    nested functional models show their own shapes and a nested Sequential built on data
    its first batch's."""
    keras_lines = [
        "│ projection (Sequential)         │ (2, 16, 8)             │           392 │",
        "│    └ conv_projection (Conv2D)   │ (2, 4, 4, 8)           │           392 │",
        "│ projection_dropout (Dropout)    │ ?                      │             0 │",
        "│ ca_ffn_block_0 (Functional)     │ ((None, None, 8),      │           616 │\n"
        "│                                 │ (None, 2, 1, None))    │               │",
        "│    └ talking_head_attn          │ [(None, None, 8),      │           300 │\n"
        "│ (TalkingHeadAttn)               │ (None, 2, None, None)] │               │",
        " Total params: 3,122 (12.20 KB)",
        "[('variable', (1, 1, 8)), ('variable_1', (1, 16, 8)), "
        "('cai_t/projection/conv_projection/kernel', (4, 4, 3, 8)), "
        "('cai_t/projection/conv_projection/bias', (8,))] 80",
        "['sa_ffn_block_0_att', 'sa_ffn_block_1_att'] ['ca_ffn_block_0_att', "
        "'ca_ffn_block_1_att']\n(3, 2, 1, 17) (3, 2, 16, 16)",
    ]
    keras_lines += KERAS_CAIT_NUMBERS
    prints_keras_lines("cait", keras_lines, monkeypatch, capsys)


KERAS_CAIT_NUMBERS = [
    "[-0.1665000021457672, 0.7304999828338623, 1.2855000495910645, -0.20960000157356262, "
    "-1.117799997329712, 0.5674999952316284, -0.5347999930381775, -0.8733000159263611, "
    "-0.2847999930381775, 0.06960000097751617]",
    "[[0.05299999937415123, 0.061799999326467514, 0.05889999866485596, 0.05959999933838844], "
    "[0.05420000106096268, 0.06560000032186508, 0.05640000104904175, 0.05790000036358833]]",
]


def test_the_grn_and_vsn_example_prints_what_keras_prints(monkeypatch, capsys):
    """keras.io's Gated Residual and Variable Selection Networks on made-up census
    columns: a user's layer called on a model's dict of Inputs of no axes (float32 and
    int64), with a build(self) of no shape, dicts of layers filled after they are assigned,
    GRNs whose projection only some calls use; fit with sample weights and early
    stopping. minicnn could not call a layer on a dict, nor build one without a shape, and
    did not track what was set in a dict attribute."""
    keras_lines = [
        "│ variable_selection  │ (None, 4)         │        753 │ age[0][0],        │",
        " Total params: 758 (2.96 KB)",
        "[(4, 4), (3, 4), (1, 4), (4,), (1, 4), (4,)] 74",
        "{'accuracy': [0.5625, 0.5625, 0.5625], 'loss': [0.9399, 0.934, 0.9286], "
        "'val_accuracy': [0.5625, 0.5625, 0.5833], 'val_loss': [0.9357, 0.9303, 0.9251]}",
        "Test accuracy: 58.33%\n[[0.5435000061988831], [0.5241000056266785], "
        "[0.5084999799728394]]\n{'shapes_dict': {}} {'num_features': 5, 'units': 4, "
        "'dropout_rate': 0.0, 'trainable': True, 'dtype': {'module': 'keras', 'class_name': "
        "'DTypePolicy', 'config': {'name': 'float32'}, 'registered_name': None}}",
        "['age', 'wage_per_hour', 'weeks_worked_in_year', 'education', 'marital_stat']",
    ]
    prints_keras_lines("grn_vsn", keras_lines, monkeypatch, capsys)
